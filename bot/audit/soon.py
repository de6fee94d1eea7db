"""Audit events a change already owes, recorded just after the answer and many at once
(a group commit): the first waits a few milliseconds for others, and one round trip
stores them all, one more settles them.

Only for events owed in Redis by the change itself (bot.audit.owed: a nonce the change's
script noted): a process that dies before recording them loses nothing, the sweep records
them. An event with no such note must be recorded before the answer (`AuditLog.record`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.audit.log import AuditLog
from bot.domain import AuditEvent
from bot.telemetry import context

BATCH = 256  # events per round trip: a burst is taken in slices this size
# The audit channel hears of events about once a second: 10 ms later costs nothing, and
# under load one round trip then serves every answer given since the last.
GATHER_SECONDS = 0.01
MAX_QUEUED = 10_000  # beyond this, the sweep records what is owed


class AuditSoon:
    def __init__(self, audit: AuditLog, *, logger: logging.Logger,
                 gather_seconds: float = GATHER_SECONDS) -> None:
        self._audit = audit
        self._logger = logger
        self._gather = gather_seconds
        # Each event, its nonce, and the request it follows (logged under it).
        self._queue: list[tuple[AuditEvent, str, Mapping[str, str]]] = []
        self._worker: asyncio.Task[None] | None = None

    def add(self, event: AuditEvent, *, nonce: str) -> None:
        """Record `event`, which its change owes under `nonce`, soon."""
        if len(self._queue) >= MAX_QUEUED:
            self._logger.warning("an owed audit event was left to the sweep: %d queued",
                                 len(self._queue))
            return
        self._queue.append((event, nonce, context.current()))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.sleep(self._gather)
            while self._queue:
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                try:
                    await self._audit.record_all(  # retried, then left owed
                        [(event, nonce) for event, nonce, _ in batch],
                        contexts=[fields for _, _, fields in batch])
                except Exception:  # the next batch goes on; the sweep records what is owed
                    self._logger.exception("a batch of owed audit events failed")
        finally:
            self._worker = None

    async def drained(self, timeout: float = 10.0) -> None:
        """Once what is queued now is recorded (at shutdown; tests)."""
        if self._worker is not None:
            await asyncio.wait({self._worker}, timeout=timeout)
