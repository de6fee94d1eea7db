"""Refusals are audited one by one up to a limit per person, then merged.

A refusal (access_denied, rate_limited) changes nothing, so a person can cause them as
fast as they can send requests: 2,050 `admin list` commands in 3 s once wrote 2,050 audit
events and posts. Each person's first `Rate.count` refusals in a window of `Rate.window`
seconds are audited one by one (a refusal that names a secret always is); the rest are
only counted (in Redis, so every replica shares the count), and once the window is over
one event says how many more there were ("12 more refusals in the last minute").

The first refusal merged notes that summary as owed, in Redis, in the same step that
counts it; its process records the summary when the window is over, and if that process
died, the next sweep of any replica does. Either way under a nonce naming the window, so
the summary is stored once.
"""

from __future__ import annotations

import enum
from typing import Protocol

from bot.audit import events
from bot.domain import AuditAction, AuditEvent
from bot.secrets.limits import Rate

REFUSALS = frozenset({AuditAction.ACCESS_DENIED, AuditAction.RATE_LIMITED})
# The default REFUSAL_AUDIT_LIMIT: more than a person clicking around ever meets, few
# enough that a script hammering the bot adds one audit line a minute after ten.
DEFAULT = Rate(10, 60)
# A window's count is read this long after the window ends (clocks of replicas differ).
SUMMARY_DELAY_SECONDS = 2.0
# A summary its own process has not recorded this long after it was due is recorded by a
# sweep (that process most likely died).
SUMMARY_GRACE_SECONDS = 30.0


# A counter outlives its window by as long as a summary can wait for a sweep (about as
# long as audit retry marks dedupe the summary's nonce).
COUNT_SECONDS = 2 * 3600


class Verdict(enum.Enum):
    AUDIT = "audit"  # audit this refusal as usual
    MERGED = "merged"  # counted only
    FIRST_MERGED = "first_merged"  # counted only; its process posts the window's summary


class RefusalCounter(Protocol):
    """Where refusals are counted (bot.storage.refusals.RedisRefusalCounter)."""

    async def count(self, *, team_id: str, user_id: str, window: int, lifetime_seconds: int,
                    limit: int, due_at: float) -> int: ...
    async def total(self, *, team_id: str, user_id: str, window: int) -> int: ...
    async def owed(self, *, before: float, limit: int = 100) -> list[tuple[str, str, int]]: ...
    async def recorded(self, *, team_id: str, user_id: str, window: int) -> None: ...


class RefusalThrottle:
    """Decides which refusals are audited one by one, and counts what the summaries say."""

    def __init__(self, counter: RefusalCounter, *, rate: Rate = DEFAULT) -> None:
        self._counter = counter
        self._rate = rate

    def window(self, event: AuditEvent) -> int:
        """The number of the window the event happened in."""
        return int(event.at // self._rate.window)

    def due(self, window: int) -> float:
        """When (epoch seconds) the summary of `window` is posted."""
        return (window + 1) * self._rate.window + SUMMARY_DELAY_SECONDS

    async def admit(self, event: AuditEvent) -> Verdict:
        """Count a refusal; whether it is audited by itself. One that names a secret (a
        click on someone else's Reveal button, a reveal past the limit) is always audited
        by itself, uncounted: it is what an admin looks a secret up for, and a person
        makes those no faster than they can click."""
        if event.code is not None or event.secret_id is not None:
            return Verdict.AUDIT
        window = self.window(event)
        count = await self._counter.count(team_id=event.team_id, user_id=event.actor,
                                          window=window, lifetime_seconds=COUNT_SECONDS,
                                          limit=self._rate.count, due_at=self.due(window))
        if count <= self._rate.count:
            return Verdict.AUDIT
        return Verdict.FIRST_MERGED if count == self._rate.count + 1 else Verdict.MERGED

    async def summary(self, event: AuditEvent) -> events.Named | None:
        """The event (and its nonce) saying how many refusals of `event`'s person in its
        window were not audited one by one; None if none (or the count is gone)."""
        return await self.summary_of(event.team_id, event.actor, self.window(event))

    async def summary_of(self, team_id: str, user_id: str,
                         window: int) -> events.Named | None:
        """`summary` for one person's window, as the summaries owed name it."""
        total = await self._counter.total(team_id=team_id, user_id=user_id, window=window)
        merged = total - self._rate.count
        if merged <= 0:
            return None
        return events.refusals_merged(team_id=team_id, user_id=user_id, merged=merged,
                                      window=window, window_seconds=self._rate.window,
                                      at=(window + 1) * self._rate.window)

    async def owed(self, *, now: float) -> list[tuple[str, str, int]]:
        """Summaries due long enough ago that their own process is not recording them."""
        return await self._counter.owed(before=now - SUMMARY_GRACE_SECONDS)

    async def recorded(self, team_id: str, user_id: str, window: int) -> None:
        await self._counter.recorded(team_id=team_id, user_id=user_id, window=window)
