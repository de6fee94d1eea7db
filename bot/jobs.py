"""Scheduled work: expiry sweeps and reminders, run by APScheduler on the event loop.

Every replica may run these; the storage makes each expiry and each reminder happen
once (see bot.lifecycle), so no leader election is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.audit import AuditLog
from bot.domain import AuditAction
from bot.errors import StorageUnavailable
from bot.lifecycle import LifecycleService
from bot.notices import Notices


class Sweeper:
    """Expires what is due and reminds senders of unread secrets."""

    def __init__(self, *, lifecycle: LifecycleService, notices: Notices, audit: AuditLog,
                 logger: logging.Logger) -> None:
        self._lifecycle = lifecycle
        self._notices = notices
        self._audit = audit
        self._logger = logger

    async def run_once(self) -> int:
        """One pass: returns how many secrets it expired."""
        expired_count = 0
        try:
            while True:
                expired = await self._lifecycle.sweep_expired()
                # The audit events first, right after Redis changed; Slack may be slow.
                for record in expired:
                    await self._audit.record(self._notices.expired_event(record))
                await _bounded(self._notices.expired(r) for r in expired)
                expired_count += len(expired)
                if not expired:
                    break
            await _bounded(self._notices.remind(r)
                           for r in await self._lifecycle.due_reminders())
            for record, user in await self._lifecycle.return_stale_claims():
                await self._audit.record(self._notices.event(
                    AuditAction.REVEAL_FAILED, record, actor=user, team_id=record.team_id,
                    detail="a view in progress when a bot process stopped was given back"))
        except StorageUnavailable:
            self._logger.warning("sweep skipped: the secret store is unreachable")
        if expired_count:
            self._logger.info("expired %d secrets", expired_count)
        return expired_count


async def _bounded(works: Iterable[Awaitable[None]], *, at_once: int = 8) -> None:
    """Await the works, at most `at_once` at a time (Slack's rate tiers)."""
    slots = asyncio.Semaphore(at_once)

    async def one(work: Awaitable[None]) -> None:
        async with slots:
            await work

    await asyncio.gather(*(one(w) for w in works))


def start_scheduler(sweeper: Sweeper, *, interval_seconds: float) -> AsyncIOScheduler:
    """Run the sweeper every `interval_seconds` (never two passes at once)."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(sweeper.run_once, "interval", seconds=interval_seconds,
                      id="sweep", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
