"""Scheduled work: expiry sweeps and reminders, run by APScheduler on the event loop.

Every replica may run these; the storage makes each expiry and each reminder happen
once (see bot.lifecycle), so no leader election is needed.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.errors import StorageUnavailable
from bot.lifecycle import LifecycleService
from bot.notices import Notices


class Sweeper:
    """Expires what is due and reminds senders of unread secrets."""

    def __init__(self, *, lifecycle: LifecycleService, notices: Notices,
                 logger: logging.Logger) -> None:
        self._lifecycle = lifecycle
        self._notices = notices
        self._logger = logger

    async def run_once(self) -> int:
        """One pass: returns how many secrets it expired."""
        expired_count = 0
        try:
            while True:
                expired = await self._lifecycle.sweep_expired()
                for record in expired:
                    await self._notices.expired(record)
                expired_count += len(expired)
                if not expired:
                    break
            for record in await self._lifecycle.due_reminders():
                await self._notices.remind(record)
        except StorageUnavailable:
            self._logger.warning("sweep skipped: the secret store is unreachable")
        if expired_count:
            self._logger.info("expired %d secrets", expired_count)
        return expired_count


def start_scheduler(sweeper: Sweeper, *, interval_seconds: float) -> AsyncIOScheduler:
    """Run the sweeper every `interval_seconds` (never two passes at once)."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(sweeper.run_once, "interval", seconds=interval_seconds,
                      id="sweep", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
