"""Rate-limit windows in Redis: one atomic script per check, shared by every replica."""

from __future__ import annotations

import secrets

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
RATE = """
if KEYS[2] and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[6]) then return {-1, 0} end
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if limit < 0 then return {1, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, math.max(1, tonumber(freeing[2]) + window - now)}
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
return {1, 0}
"""


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
        keys = [self._keys.rate(action, team_id, user_id)]
        if once is not None:
            keys.append(self._keys.attempt(action, team_id, user_id, once))
        return await self._attempt(keys, limit=limit, window_seconds=window_seconds, now=now,
                                   count=count, once_seconds=once_seconds)

    @unavailable_on_redis_errors
    async def attempt_on(self, key: str, *, limit: int, window_seconds: int,
                         now: float) -> float:
        """`attempt` (counted) on a window kept under a key of its own (one that a
        script of another store checks as well: bot.storage.link_views)."""
        return await self._attempt([key], limit=limit, window_seconds=window_seconds,
                                   now=now) or 0.0

    async def _attempt(self, keys: list[str], *, limit: int | None, window_seconds: int,
                       now: float, count: bool = True, once_seconds: int = 0) -> float | None:
        allowed, wait_ms = await self._rate(
            keys=keys, args=[int(now * 1000), window_seconds * 1000,
                             -1 if limit is None else limit,
                             f"{now:.6f}:{secrets.token_hex(4)}", "1" if count else "0",
                             once_seconds])
        if int(allowed) < 0:
            return None
        return 0.0 if int(allowed) else int(wait_ms) / 1000
