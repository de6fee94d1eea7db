"""Refusals are audited one by one up to a limit per person, then merged.

A refusal (access_denied, rate_limited) changes nothing, so a person can cause them as
fast as they can send requests: 2,050 `admin list` commands in 3 s once wrote 2,050 audit
events and posts. Each person's first `Rate.count` refusals in a window of `Rate.window`
seconds are audited one by one; the rest are only counted (in Redis, so every replica
shares the count), and once the window is over one event says how many more there were
("12 more refusals in the last minute"). The process whose refusal was the first one
merged posts it, under a nonce naming the window, so a retried append stores it once.
"""

from __future__ import annotations

import enum
from typing import Protocol

from bot.domain import AuditAction, AuditEvent
from bot.limits import Rate, duration

REFUSALS = frozenset({AuditAction.ACCESS_DENIED, AuditAction.RATE_LIMITED})
# The default REFUSAL_AUDIT_LIMIT: more than a person clicking around ever meets, few
# enough that a script hammering the bot adds one audit line a minute after ten.
DEFAULT = Rate(10, 60)
# A window's count is read this long after the window ends (clocks of replicas differ).
SUMMARY_DELAY_SECONDS = 2.0


class Verdict(enum.Enum):
    AUDIT = "audit"  # audit this refusal as usual
    MERGED = "merged"  # counted only
    FIRST_MERGED = "first_merged"  # counted only; its process posts the window's summary


class RefusalCounter(Protocol):
    """Where refusals are counted (bot.storage.refusals.RedisRefusalCounter)."""

    async def count(self, *, team_id: str, user_id: str, window: int,
                    lifetime_seconds: int) -> int: ...
    async def total(self, *, team_id: str, user_id: str, window: int) -> int: ...


class RefusalThrottle:
    """Decides which refusals are audited one by one, and words the summaries."""

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
        """Count a refusal; whether it is audited by itself."""
        count = await self._counter.count(team_id=event.team_id, user_id=event.actor,
                                          window=self.window(event),
                                          lifetime_seconds=3 * self._rate.window + 60)
        if count <= self._rate.count:
            return Verdict.AUDIT
        return Verdict.FIRST_MERGED if count == self._rate.count + 1 else Verdict.MERGED

    async def summary(self, event: AuditEvent) -> tuple[AuditEvent, str] | None:
        """The event (and its nonce) saying how many refusals of `event`'s person in its
        window were not audited one by one; None if none (or the count is gone)."""
        window = self.window(event)
        total = await self._counter.total(team_id=event.team_id, user_id=event.actor,
                                          window=window)
        merged = total - self._rate.count
        if merged <= 0:
            return None
        detail = (f"{merged} more refusal{'s' if merged != 1 else ''} in the last "
                  f"{duration(self._rate.window)}, not listed one by one")
        summary = AuditEvent(AuditAction.REFUSALS_MERGED, at=(window + 1) * self._rate.window,
                             actor=event.actor, team_id=event.team_id, detail=detail)
        return summary, f"refusals:{event.team_id}:{event.actor}:{window}"
