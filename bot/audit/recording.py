"""What every part records audit events to: the `AuditLog` protocol.

bot.audit.log's DurableAuditLog is the one that stores them (the Redis stream, then the
audit channel); the listeners record through bot.secrets.followups' InOrder, which keeps
their events behind those still queued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.domain import AuditEvent


class AuditLog(Protocol):
    """Where audit events go."""

    async def record(self, event: AuditEvent, *, nonce: str | None = None) -> None:
        """Record one event; must not raise for delivery problems. A `nonce` names the
        event for `record_once`, and the event its change owes (bot.storage.owed), which
        is settled once the event is stored."""
        ...

    async def record_all(self, events: Sequence[tuple[AuditEvent, str | None]], *,
                         contexts: Sequence[Mapping[str, str]] | None = None) -> None:
        """`record` for several events (each with its nonce or None), in this order; each
        logged under its own request's `contexts` when they are given (bot.telemetry)."""
        ...

    async def record_once(self, event: AuditEvent, *, nonce: str, since: float) -> None:
        """Record an event unless one with this nonce was recorded since `since` (a
        process that died may or may not have recorded it)."""
        ...

    async def record_owed(self, event: AuditEvent, *, nonce: str, since: float) -> bool:
        """Store an event a dead process owed, unless stored since `since`, and settle it;
        one try (the next sweep tries again). True when it is stored."""
        ...

    async def record_owed_summaries(self) -> int:
        """Record the summaries of merged refusals that a stopped process owed; how many."""
        ...
