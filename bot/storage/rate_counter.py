"""Rate-limit windows in Redis: one atomic script per check, shared by every replica."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# A rate limit: a person's attempts in the last window, as a sorted set of unique members
# scored by time (a sliding window, exact at any moment, unlike fixed buckets that let
# twice the limit through around a bucket's edge). Refused attempts are not counted, so
# a person who keeps trying is let in as soon as the window has room again.
# An attempt Slack may deliver again (a replayed click has the first one's trigger id) can
# be named by a mark in the same slot: a repeat is then refused before anything is counted.
# KEYS[1] the person's attempts for one action, KEYS[2] (optional) the mark naming this
# attempt
# ARGV[1] now (ms), ARGV[2] window (ms), ARGV[3] limit (-1: none, only the mark), ARGV[4] a
# unique member, ARGV[5] "1" to count this attempt, "0" only to look, ARGV[6] how long the
# mark stays (s)
# -> {1, 0} allowed (and counted when asked) | {0, ms until an attempt is allowed}
#    | {-1, 0} the mark was there: a repeat (nothing counted)
# As a function (`rate_step(window key, mark key or nil, ARGV[1..6] as above)`), so that
# a script of another store can take an attempt in its own step (bot.storage.secret_views:
# a reveal's claim, on one server).
RATE_STEP = """
local function rate_step(key, mark, now, window, limit, member, count, mark_seconds)
  if mark and not redis.call('SET', mark, '1', 'NX', 'EX', mark_seconds) then
    return {-1, 0}
  end
  now, window, limit = tonumber(now), tonumber(window), tonumber(limit)
  if limit < 0 then return {1, 0} end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local freeing = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
    return {0, math.max(1, tonumber(freeing[2]) + window - now)}
  end
  if count == '1' then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, window)
  end
  return {1, 0}
end
"""
RATE = RATE_STEP + """
return rate_step(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
"""


@dataclass(frozen=True)
class RateStep:
    """One person's attempt at an action, to be taken in by the step that carries it
    out: counted against at most `limit` within `window_seconds` (None: no limit), and
    marked by its name `once` (for `once_seconds`) so that a repeat is refused."""

    action: str
    team_id: str
    user_id: str
    limit: int | None
    window_seconds: int
    now: float
    once: str | None = None
    once_seconds: int = 0

    def keys(self, keys: KeySpace) -> list[str]:
        """The window, then the mark (with `once`): RATE's KEYS."""
        found = [keys.rate(self.action, self.team_id, self.user_id)]
        if self.once is not None:
            found.append(keys.attempt(self.action, self.team_id, self.user_id, self.once))
        return found

    def args(self, *, count: bool = True) -> list[str | int]:
        """RATE's ARGV."""
        return [int(self.now * 1000), self.window_seconds * 1000,
                -1 if self.limit is None else self.limit,
                f"{self.now:.6f}:{secrets.token_hex(4)}", "1" if count else "0",
                self.once_seconds]


def rate_wait_ms(answer: object) -> int | None:
    """RATE's reply: 0 allowed, else the ms until an attempt will be; None: a repeat."""
    allowed, wait_ms = (int(v) for v in replies.array(answer))
    if allowed < 0:
        return None
    return 0 if allowed else wait_ms


def rate_reply(answer: object) -> float | None:
    """RATE's reply in seconds (`rate_wait_ms`)."""
    wait_ms = rate_wait_ms(answer)
    return None if wait_ms is None else wait_ms / 1000


class RedisRateCounter:
    """Counts a person's attempts at an action within a sliding window."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._keys = keys
        self._rate = redis.register_script(RATE)

    @unavailable_on_redis_errors
    async def attempt(self, action: str, *, team_id: str, user_id: str, limit: int | None,
                      window_seconds: int, now: float, count: bool = True,
                      once: str | None = None, once_seconds: int = 0) -> float | None:
        """0 when the attempt is allowed (and then counted, unless `count` is False), else
        the seconds until one will be; no `limit`: always allowed. With `once` (a token
        naming the attempt, marked for `once_seconds`), None for a repeat of one already
        taken in, before anything is counted."""
        step = RateStep(action, team_id, user_id, limit=limit, window_seconds=window_seconds,
                        now=now, once=once, once_seconds=once_seconds)
        return rate_reply(await self._rate(keys=step.keys(self._keys),
                                           args=step.args(count=count)))

    @unavailable_on_redis_errors
    async def attempt_on(self, key: str, *, limit: int, window_seconds: int,
                         now: float) -> float:
        """`attempt` (counted) on a window kept under a key of its own (one that a
        script of another store checks as well: bot.storage.link_views)."""
        step = RateStep("", "", "", limit=limit, window_seconds=window_seconds, now=now)
        return rate_reply(await self._rate(keys=[key], args=step.args())) or 0.0
