"""Per-person rate limits on sharing, on reveal attempts and on requests for secrets.

Counted in Redis per workspace and person, so every replica sees the same count; each
check is one atomic script (bot.storage.rate_counter.RATE) over a sliding window. A refused
attempt changes nothing but the audit log: the caller raises or returns before storing
a secret or claiming a view.
"""

from __future__ import annotations

import enum
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.errors import RateLimited
from bot.storage.rate_counter import RateStep

# Slack repeats a delivery for minutes at most; a replayed attempt is refused for as long.
REPEAT_SECONDS = 3600
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_COUNT, MAX_WINDOW = 100_000, 86_400
# People one `/share-secret request` may ask: a team asking a few owners of a credential
# stays well inside it, while each command can send at most this many DMs (and audit
# events); with the request limit that bounds what one person can make the bot send.
MAX_REQUEST_PEOPLE = 10


class Action(enum.Enum):
    """What is limited (the value names the Redis window)."""

    SHARE = "share"
    REVEAL = "reveal"
    REQUEST = "request"  # `/share-secret request`, once per command


@dataclass(frozen=True)
class Rate:
    """At most `count` attempts within any `window` seconds."""

    count: int
    window: int

    def describe(self) -> str:
        return f"{self.count} per {duration(self.window)}"


def parse_rate(text: str) -> Rate | None:
    """`30/600` (30 per 600 seconds) as a Rate; `off` (or `0`) as None, no limit."""
    if text.strip().lower() in {"off", "0", "none"}:
        return None
    match = _RATE.match(text)
    if not match:
        raise ValueError("must be COUNT/SECONDS, e.g. 30/600, or off")
    count, window = int(match[1]), int(match[2])
    if not (1 <= count <= MAX_COUNT and 1 <= window <= MAX_WINDOW):
        raise ValueError(f"must have a count of 1-{MAX_COUNT} and a window of "
                         f"1-{MAX_WINDOW} seconds")
    return Rate(count, window)


def duration(seconds: float) -> str:
    """A wait or a window in words, rounded up: "45 seconds", "4 minutes", "2 hours"."""
    if seconds <= 60:
        n, unit = max(1, math.ceil(seconds)), "second"
    elif seconds <= 3600:
        n, unit = math.ceil(seconds / 60), "minute"
    else:
        n, unit = math.ceil(seconds / 3600), "hour"
    return f"{n} {unit}{'s' if n != 1 else ''}"


class RateCounter(Protocol):
    """Where attempts are counted (see bot.storage.rate_counter.RedisRateCounter)."""

    async def attempt(self, action: str, *, team_id: str, user_id: str, limit: int | None,
                      window_seconds: int, now: float, count: bool = True,
                      once: str | None = None, once_seconds: int = 0) -> float | None: ...


class RateLimits:
    """The configured limits, checked against a shared counter."""

    def __init__(self, counter: RateCounter, *, share: Rate | None, reveal: Rate | None,
                 request: Rate | None = None, clock: Callable[[], float] = time.time) -> None:
        self._counter = counter
        self._rates = {Action.SHARE: share, Action.REVEAL: reveal, Action.REQUEST: request}
        self._clock = clock

    async def take(self, action: Action, *, team_id: str, user_id: str,
                   once: str | None = None) -> bool:
        """Count one attempt; raise RateLimited (counting nothing) when over the limit.
        `once` names the attempt (a click's trigger id, which a replay repeats): False,
        counting nothing, when it was taken in before (within REPEAT_SECONDS). The mark
        and the count are one step in Redis, also when the action has no limit."""
        return await self._check(action, team_id=team_id, user_id=user_id, count=True,
                                 once=once)

    def step(self, action: Action, *, team_id: str, user_id: str,
             once: str | None = None) -> RateStep | None:
        """`take`, as a step for the store to take in with the work it guards (a
        reveal's claim: bot.storage.secret_views); None when there is nothing to take."""
        rate = self._rates[action]
        if rate is None and once is None:
            return None
        return RateStep(action.value, team_id, user_id, limit=rate.count if rate else None,
                        window_seconds=rate.window if rate else 1, now=self._clock(),
                        once=once, once_seconds=REPEAT_SECONDS)

    def refused(self, action: Action, wait_seconds: float) -> RateLimited:
        """What `take` raises for an attempt a store's step refused for `wait_seconds`."""
        rate = self._rates[action]
        assert rate is not None  # only a limit refuses for a while
        return RateLimited(action.value, retry_after=math.ceil(wait_seconds),
                           limit=rate.count, window=rate.window)

    async def ensure_room(self, action: Action, *, team_id: str, user_id: str) -> None:
        """Raise RateLimited when an attempt would be refused now; count nothing (to warn
        before someone fills in a form)."""
        await self._check(action, team_id=team_id, user_id=user_id, count=False)

    async def _check(self, action: Action, *, team_id: str, user_id: str,
                     count: bool, once: str | None = None) -> bool:
        step = self.step(action, team_id=team_id, user_id=user_id, once=once)
        if step is None:
            return True
        wait = await self._counter.attempt(
            step.action, team_id=team_id, user_id=user_id, limit=step.limit,
            window_seconds=step.window_seconds, now=step.now, count=count, once=once,
            once_seconds=step.once_seconds)
        if wait is None:
            return False
        if wait > 0 and step.limit is not None:
            raise self.refused(action, wait)
        return True
