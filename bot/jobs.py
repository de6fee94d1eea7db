"""Scheduled work: expiry sweeps and reminders, run by APScheduler on the event loop.

Every replica may run these; the storage makes each expiry and each reminder happen
once (see bot.lifecycle), so no leader election is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.audit import AuditLog
from bot.domain import AuditAction, SecretRecord
from bot.errors import StorageUnavailable
from bot.lifecycle import LifecycleService
from bot.notices import Events, Notices


class NoticesByTeam(Protocol):
    """Notices through the client of a secret's own workspace."""

    async def for_team(self, team_id: str) -> Notices | None:
        """None when the workspace cannot be reached (not installed any more)."""
        ...


class Sweeper:
    """Expires what is due and reminds senders of unread secrets, each through the
    Slack client of the secret's own workspace."""

    def __init__(self, *, lifecycle: LifecycleService, notices: NoticesByTeam,
                 audit: AuditLog, logger: logging.Logger, events: Events | None = None) -> None:
        self._lifecycle = lifecycle
        self._notices = notices
        self._events = events or Events()
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
                    await self._audit.record(self._events.expired_event(record))
                await _bounded(self._tell(r, Notices.expired) for r in expired)
                expired_count += len(expired)
                if not expired:
                    break
            await _bounded(self._tell(r, Notices.remind)
                           for r in await self._lifecycle.due_reminders())
            for record, user in await self._lifecycle.return_stale_claims():
                await self._audit.record(self._events.event(
                    AuditAction.REVEAL_FAILED, record, actor=user, team_id=record.team_id,
                    detail="a view in progress when a bot process stopped was given back"))
        except StorageUnavailable:
            self._logger.warning("sweep skipped: the secret store is unreachable")
        if expired_count:
            self._logger.info("expired %d secrets", expired_count)
        return expired_count

    async def _tell(self, record: SecretRecord,
                    notice: Callable[[Notices, SecretRecord], Awaitable[None]]) -> None:
        notices = await self._notices.for_team(record.team_id)
        if notices is not None:
            await notice(notices, record)


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
