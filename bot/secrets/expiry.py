"""Scheduled work: expiry sweeps and reminders, run by APScheduler on the event loop.

Every replica may run these; the storage makes each expiry and each reminder happen
once (see bot.secrets.lifecycle), so no leader election is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

# apscheduler 3 ships no type information; `Scheduler` below is the part the bot uses.
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.audit import events as audit_events
from bot.audit.log import RETRY_LOOKBACK_SECONDS, AuditLog
from bot.domain import SecretRecord, StaleOutcome
from bot.errors import StorageUnavailable
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.notices import Notices


class Scheduler(Protocol):
    """The running scheduler, as the runtime holds it (to stop it at shutdown)."""

    def shutdown(self, wait: bool = True) -> None: ...


class NoticesByTeam(Protocol):
    """Notices through the client of a secret's own workspace."""

    async def for_team(self, team_id: str) -> Notices | None:
        """None when the workspace cannot be reached (not installed any more)."""
        ...


class Sweeper:
    """Expires what is due and reminds senders of unread secrets, each through the
    Slack client of the secret's own workspace."""

    def __init__(self, *, lifecycle: LifecycleService, notices: NoticesByTeam,
                 audit: AuditLog, logger: logging.Logger,
                 clock: Callable[[], float] = time.time) -> None:
        self._lifecycle = lifecycle
        self._notices = notices
        self._clock = clock  # when the events it records happened
        self._audit = audit
        self._logger = logger
        self._pass: asyncio.Task[int] | None = None
        self._stopping = False

    async def scheduled(self) -> None:
        """The scheduler's job: one pass, in a task of its own.

        Stopping APScheduler's asyncio executor cancels the jobs it is running, and a
        pass cancelled between marking secrets expired and recording their audit events
        would lose those events. So the job only waits for the pass (shielded), and
        `stop` lets the pass end at its next safe point instead.
        """
        if self._stopping:
            return
        self._pass = asyncio.get_running_loop().create_task(self.run_once(), name="sweep")
        try:
            await asyncio.shield(self._pass)
        except asyncio.CancelledError:
            # Only the scheduler's shutdown cancels its jobs: the pass goes on, and `stop`
            # waits for it. (Re-raised, APScheduler would log a failed job.)
            return

    async def stop(self, timeout: float) -> None:
        """No new passes; wait up to `timeout` seconds for a running one to finish its
        batch (it stops before the next), then cancel it."""
        self._stopping = True
        running = self._pass
        if running is None or running.done():
            return
        await asyncio.wait({running}, timeout=timeout)
        if not running.done():
            # Its audit events are recorded as soon as Redis changes; what is cut short
            # here is at worst the Slack notices of the batch in hand.
            self._logger.warning("the sweep did not finish in time; cancelled")
            running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    async def run_once(self) -> int:
        """One pass: returns how many secrets it expired."""
        expired_count = 0
        try:
            while not self._stopping:
                expired = await self._lifecycle.sweep_expired()
                # The audit events first, right after Redis changed; Slack may be slow.
                for record in expired:
                    ended = audit_events.secret_expired(record, at=self._clock())
                    await self._audit.record(ended.event, nonce=ended.nonce)
                # A changed record's sender, label and DMs are not to be trusted: no notice
                # (the bot would otherwise send text chosen in Redis to a person chosen there).
                await _bounded(self._tell(r, Notices.expired) for r in expired
                               if not r.tampered)
                expired_count += len(expired)
                if not expired:
                    break
            if not self._stopping:  # else the rest is the next pass's, here or elsewhere
                await self._remind_and_return_claims()
        except StorageUnavailable:
            self._logger.warning("sweep skipped: the secret store is unreachable")
        if expired_count:
            self._logger.info("expired %d secrets", expired_count)
        return expired_count

    async def _remind_and_return_claims(self) -> None:
        await self._record_owed()
        if await self._audit.record_owed_summaries():
            self._logger.warning("recorded summaries of merged refusals a stopped process owed")
        await _bounded(self._tell(r, Notices.remind)
                       for r in await self._lifecycle.due_reminders())
        for record in await self._lifecycle.undelivered():
            await self._deliver_again(record)
        for record, user, outcome, nonces in await self._lifecycle.return_stale_claims():
            await self._audit_stale(record, user, outcome, nonces)

    async def _record_owed(self) -> None:
        """Audit events a stopped process owed (its change is in Redis, the event never
        reached the stream): each recorded once, in order per secret."""
        owed = await self._lifecycle.owed_events()
        if owed:
            self._logger.warning("recording %d audit events a stopped process owed", len(owed))
        for entry, record in owed:
            named = audit_events.from_owed(entry, record)
            if not await self._audit.record_owed(named.event, nonce=named.nonce,
                                                 since=entry.at - RETRY_LOOKBACK_SECONDS):
                # The stream is unreachable: the rest waits for the next pass, in order.
                break
        await self._lifecycle.forget_settled_owed()

    async def _tell(self, record: SecretRecord,
                    notice: Callable[[Notices, SecretRecord], Awaitable[None]]) -> None:
        notices = await self._notices.for_team(record.team_id)
        if notices is not None:
            await notice(notices, record)

    async def _deliver_again(self, record: SecretRecord) -> None:
        """Reveal messages a stopped process owed (duplicates are harmless, a missing one
        is not)."""
        if record.tampered:
            # Its metadata was changed in Redis (or predates seals): no Reveal message
            # goes out, and admins hear of it.
            self._logger.warning("refused to send Reveal messages for a secret whose "
                                 "metadata failed its integrity check")
            await self._audit.record(audit_events.delivery_refused(record, at=self._clock()))
            await self._lifecycle.delivered(record, {})
            return
        notices = await self._notices.for_team(record.team_id)
        if notices is None:
            await self._lifecycle.delivered(record, {})  # uninstalled: nobody to tell
            return
        self._logger.warning("sending again Reveal messages a stopped process owed")
        # That process may have died before recording the secret's creation.
        created = audit_events.secret_created(record)
        await self._audit.record_once(created.event, nonce=created.nonce,
                                      since=record.created_at - 1)
        report = await notices.announce(record)
        await self._lifecycle.delivered(record, report.direct)

    async def _audit_stale(self, record: SecretRecord, user: str, outcome: StaleOutcome,
                           nonces: tuple[str, ...]) -> None:
        for settled in audit_events.stale_claim(record, user_id=user, outcome=outcome,
                                                nonces=nonces, at=self._clock()):
            await self._audit.record(settled.event, nonce=settled.nonce)


async def _bounded(works: Iterable[Awaitable[None]], *, at_once: int = 8) -> None:
    """Await the works, at most `at_once` at a time (Slack's rate tiers)."""
    slots = asyncio.Semaphore(at_once)

    async def one(work: Awaitable[None]) -> None:
        async with slots:
            await work

    await asyncio.gather(*(one(w) for w in works))


def start_scheduler(sweeper: Sweeper, *, interval_seconds: float) -> Scheduler:
    """Run the sweeper every `interval_seconds` (never two passes at once)."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(sweeper.scheduled, "interval", seconds=interval_seconds,
                      id="sweep", max_instances=1, coalesce=True)
    scheduler.start()
    started: Scheduler = scheduler
    return started
