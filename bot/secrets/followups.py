"""What follows a reveal (or a share), done after it and for many at once (a group
commit): their audit events stored in one round trip and settled in one more, burned
secrets out of the expiry index with their quota room given back, and the senders'
receipts sent. The first follow-up waits a few milliseconds for others to join it, and
under load one round trip serves every reveal since the last. The web page's reveals
(bot.secrets.web_reveal) have one; the Slack ones (bot.handlers.reveal) and the Slack
share form's secret_created (bot.handlers.share_modal) share another.

Nothing here is lost when the process dies first: the reveal's Redis step owed its audit
events (the sweep records them), and the expiry index and the quota let go of a secret at
its expiry time all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.audit.log import AuditLog
from bot.domain import AuditEvent
from bot.errors import StorageUnavailable
from bot.telemetry import context as request_context

BATCH = 256  # reveals per round trip: a burst is taken in slices this size
# How long the first follow-up waits for others to share its round trips: the cost of a
# reveal's follow-up falls several times over once a few share them, while the audit
# log, posted to Slack about once a second, is none the later for it.
GATHER_SECONDS = 0.01
MAX_QUEUED = 10_000  # beyond this, follow-ups are left to the sweep and the expiry time
CATCH_UP_SECONDS = 1.0


class EventLog(Protocol):
    """Where the events go (bot.audit.log.AuditLog: retried, then left owed; never raises)."""

    async def record_all(self, events: Sequence[tuple[AuditEvent, str | None]], *,
                         contexts: Sequence[Mapping[str, str]] | None = None) -> None: ...


class Burned(Protocol):
    """What lets go of burned secrets (bot.storage.link_views.LinkViews.burned)."""

    async def burned(self, ended: Sequence[tuple[str, str, str]], *, now: float) -> None: ...

@dataclass(frozen=True)
class Followup:
    """One reveal's follow-up: the events its step owed (with their nonces), the secret
    it burned as (id, team, sender), and the sender's receipt."""

    events: tuple[tuple[AuditEvent, str | None], ...]
    burned: tuple[str, str, str] | None = None
    receipt: Coroutine[Any, Any, None] | None = None
    # The request it follows (bot.telemetry.context): its events are logged under it.
    context: Mapping[str, str] = field(default_factory=request_context.current)


class Followups:
    def __init__(self, *, audit: EventLog, views: Burned,
                 later: Callable[[Coroutine[Any, Any, None]], None],
                 logger: logging.Logger, clock: Callable[[], float] = time.time) -> None:
        self._audit = audit
        self._views = views
        self._later = later
        self._logger = logger
        self._clock = clock
        self._queue: list[Followup] = []
        self._worker: asyncio.Task[None] | None = None
        self._added = self._done = 0  # follow-ups queued, and done, since the start
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []  # (until done, waiter)

    def add(self, item: Followup) -> None:
        if len(self._queue) >= MAX_QUEUED:
            if item.receipt is not None:
                item.receipt.close()
            self._logger.warning("a follow-up was left to the sweep: %d queued",
                                 len(self._queue))
            return
        self._queue.append(item)
        self._added += 1
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.sleep(GATHER_SECONDS)
            while self._queue:
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                try:
                    await self._apply(batch)
                except Exception:  # the next batch goes on; the sweep settles what is owed
                    self._logger.exception("a batch of reveals' follow-ups failed")
                self._done += len(batch)
                self._wake()
        finally:
            self._worker = None
            self._done = self._added - len(self._queue)  # a next worker takes what is left
            self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, []
        for until, waiter in waiting:
            if self._done < until:
                self._waiting.append((until, waiter))
            elif not waiter.done():
                waiter.set_result(None)

    async def _apply(self, batch: list[Followup]) -> None:
        events = [event for item in batch for event in item.events]
        if events:  # never raises: retried, then left owed
            await self._audit.record_all(events, contexts=[
                item.context for item in batch for _ in item.events])
        burned = [item.burned for item in batch if item.burned is not None]
        with contextlib.suppress(StorageUnavailable):
            await self._views.burned(burned, now=self._clock())
        for item in batch:
            if item.receipt is not None:
                self._later(item.receipt)

    async def drained(self, timeout: float = 10.0) -> None:
        """Once what is queued now is done (at shutdown; tests)."""
        if self._worker is not None:
            await asyncio.wait({self._worker}, timeout=timeout)

    async def caught_up(self) -> None:
        """Before an event recorded at once (`InOrder`): what is queued now is recorded
        first (queued events keep their order among themselves). Waits CATCH_UP_SECONDS
        at most: a stalled Redis must not hold a refusal's answer (what is queued stays
        owed and is recorded all the same)."""
        if self._done >= self._added:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append((self._added, waiter))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), CATCH_UP_SECONDS)


class InOrder:
    """The audit log as the listeners record to it: an event recorded at once (a refusal,
    a revoke, an admin's look) comes after the follow-ups queued before it
    (`Followups.caught_up`), so the log keeps the order things happened in: a share's
    secret_created before its admin revoke, a view before the refusal that followed."""

    def __init__(self, audit: AuditLog, followups: Followups) -> None:
        self._audit = audit
        self._followups = followups

    async def record(self, event: AuditEvent, *, nonce: str | None = None) -> None:
        await self._followups.caught_up()
        await self._audit.record(event, nonce=nonce)

    async def record_all(self, events: Sequence[tuple[AuditEvent, str | None]], *,
                         contexts: Sequence[Mapping[str, str]] | None = None) -> None:
        if not events:  # nothing to keep in order: no wait
            return
        await self._followups.caught_up()
        await self._audit.record_all(events, contexts=contexts)

    async def record_once(self, event: AuditEvent, *, nonce: str, since: float) -> None:
        await self._followups.caught_up()
        await self._audit.record_once(event, nonce=nonce, since=since)

    async def record_owed(self, event: AuditEvent, *, nonce: str, since: float) -> bool:
        return await self._audit.record_owed(event, nonce=nonce, since=since)

    async def record_owed_summaries(self) -> int:
        return await self._audit.record_owed_summaries()
