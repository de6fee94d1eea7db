"""Audit events: what happened to which secret, by whom. Never any content.

`DurableAuditLog.record` writes each event to the Redis Stream first (the system of
record) and logs it. `AuditOutbox` (bot.audit.outbox) then delivers the stream to the
admin channel, in order, from whichever process holds the delivery lease: retried with backoff while
Slack fails (errors, 429 with Retry-After, outages), resumed after restarts, and
grouped into fewer messages under a burst, since Slack accepts about one message per
second per channel.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.audit.outbox import AuditOutbox, AuditRoutes
from bot.audit.recording import AuditLog
from bot.audit.refusals import REFUSALS, RefusalThrottle, Verdict
from bot.domain import AuditAction, AuditEvent, masked
from bot.errors import StorageUnavailable
from bot.storage.audit_stream import AuditStream
from bot.storage.owed import OwedEvents
from bot.telemetry import context
from bot.telemetry.metrics import Metrics

__all__ = ["AuditAction", "AuditEvent", "AuditLog", "AuditOutbox", "AuditRoutes",
           "DurableAuditLog"]

APPEND_SECONDS = 0.5  # an append before Slack is answered: well inside its 3 s
RETRY_SECONDS = 3600.0  # how long an unstored event is retried in the background
# How far before its first try a retried event is looked for (clocks of the bot and
# Redis may differ a little; stream ids are Redis's milliseconds).
RETRY_LOOKBACK_SECONDS = 60.0


class DurableAuditLog:
    """Appends every event to the audit stream and logs it (metadata only).

    `record` often runs before Slack is answered, so it waits at most APPEND_SECONDS; an
    event that could not be stored by then is kept and stored again in the background
    (with backoff, for up to RETRY_SECONDS), never dropped on the first failure.
    """

    def __init__(self, stream: AuditStream, *, logger: logging.Logger,
                 metrics: Metrics | None = None, owed: OwedEvents | None = None,
                 refusals: RefusalThrottle | None = None) -> None:
        self._stream = stream
        self._owed = owed
        self._refusals = refusals
        self._logger = logger
        self._metrics = metrics
        self._retries: set[asyncio.Task[None]] = set()
        # The last retry per secret: a secret's events are stored in the order they
        # happened (opened before burned), also when they had to wait.
        self._queued: dict[str, asyncio.Task[None]] = {}

    async def record(self, event: AuditEvent, *, nonce: str | None = None) -> None:
        event = without_addresses(event)
        if self._metrics is not None:
            self._metrics.count_event(event)
        if nonce is None and event.action in REFUSALS and not await self._audit_refusal(event):
            return
        # A failed append may have been stored all the same (Redis applied it, then the
        # answer was lost): the nonce lets the retry see that and not store it twice.
        owes = nonce is not None  # a nonce given names what the change owes
        nonce, tried_at = nonce or secrets.token_hex(8), time.time() - RETRY_LOOKBACK_SECONDS
        if (event.secret_id or "") in self._queued:  # behind this secret's waiting events
            self._retry_later(event, nonce=nonce, since=tried_at, owes=owes, first_wait=0.0)
            return
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                event_id = await self._stream.append(event, nonce=nonce)
        except Exception as exc:  # noqa: BLE001 - must not raise: retried later, logged
            self._logger.warning("audit event %s not stored yet (%s); retrying",
                                 event.action.value, type(exc).__name__)
            self._retry_later(event, nonce=nonce, since=tried_at, owes=owes)
            return
        if owes:
            await self._settle_all([(event, nonce)])
        self._log(event, event_id)

    async def _audit_refusal(self, event: AuditEvent) -> bool:
        """Whether a refusal is audited by itself (bot.audit.refusals); past the person's
        limit it is only counted, and the first one counted schedules the summary. When
        Redis cannot count it, it is audited: a refusal is never lost unseen."""
        if self._refusals is None:
            return True
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                verdict = await self._refusals.admit(event)
        except Exception:  # noqa: BLE001 - audited by itself instead
            return True
        if verdict is Verdict.FIRST_MERGED:
            task = asyncio.get_running_loop().create_task(self._summarise(event, self._refusals))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return verdict is Verdict.AUDIT

    async def _summarise(self, event: AuditEvent, refusals: RefusalThrottle) -> None:
        """Once `event`'s window is over, record how many refusals were only counted (if
        this process dies first, a sweep records it: `record_owed_summaries`)."""
        window = refusals.window(event)
        await asyncio.sleep(max(0.0, refusals.due(window) - time.time()))
        for wait in (0.0, 1.0, 5.0):  # the count is read from Redis: a blip is retried
            await asyncio.sleep(wait)
            if await self._store_summary(refusals, event.team_id, event.actor, window):
                return
        self._logger.warning("the summary of merged refusals of %s waits for a sweep",
                             event.actor)

    async def record_owed_summaries(self) -> int:
        """Record the summaries of merged refusals that their own process did not (it
        stopped); how many were recorded."""
        refusals = self._refusals
        if refusals is None:
            return 0
        done = 0
        for team_id, user_id, window in await refusals.owed(now=time.time()):
            if not await self._store_summary(refusals, team_id, user_id, window):
                break  # Redis is unreachable: the next sweep goes on
            done += 1
        return done

    async def _store_summary(self, refusals: RefusalThrottle, team_id: str, user_id: str,
                             window: int) -> bool:
        """Store one window's summary once (by its nonce, whoever else tries), then mark
        it recorded; False when Redis could not be reached."""
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                found = await refusals.summary_of(team_id, user_id, window)
                if found is not None:
                    event, nonce = found
                    event_id = await self._stream.append(
                        event, nonce=nonce, retry_since=event.at - RETRY_LOOKBACK_SECONDS)
                    self._log(event, event_id)
                await refusals.recorded(team_id, user_id, window)
        except Exception as exc:  # noqa: BLE001 - left owed: retried, then the sweep's
            self._logger.warning("a summary of merged refusals is not stored yet (%s)",
                                 type(exc).__name__)
            return False
        return True

    def _log(self, event: AuditEvent, event_id: str) -> None:
        self._logger.info("audit %s id=%s code=%s actor=%s team=%s", event.action.value,
                          event_id, event.code, event.actor, event.team_id,
                          extra={"event": "audit", "audit_event": event.action.value,
                                 "code": event.code, "actor": event.actor})

    async def record_all(self, events: Sequence[tuple[AuditEvent, str | None]], *,
                         contexts: Sequence[Mapping[str, str]] | None = None) -> None:
        """`record` for several events, each secret's in order: in one round trip, settled
        in one more, when each is owed by a change or all are one secret's."""
        fields = list(contexts) if contexts is not None else [{} for _ in events]
        if len(events) != 1 and (all(n is not None for _, n in events)
                                 or len({e.secret_id for e, _ in events}) == 1):
            await self._record_together(events, fields)
            return
        for (event, nonce), ctx in zip(events, fields, strict=True):
            with context.scope(**ctx):
                await self.record(event, nonce=nonce)

    async def _record_together(self, events: Sequence[tuple[AuditEvent, str | None]],
                               contexts: list[Mapping[str, str]]) -> None:
        events = [(without_addresses(event), nonce) for event, nonce in events]
        if self._metrics is not None:
            for event, _ in events:
                self._metrics.count_event(event)
        named = [(event, nonce or secrets.token_hex(8), nonce is not None)
                 for event, nonce in events]
        logged_in = {id(item): ctx for item, ctx in zip(named, contexts, strict=True)}
        tried_at = time.time() - RETRY_LOOKBACK_SECONDS
        # A secret with events waiting to be retried: these go behind them, in order.
        ready = [item for item in named if (item[0].secret_id or "") not in self._queued]
        for event, nonce, owes in named:
            if (event.secret_id or "") in self._queued:
                self._retry_later(event, nonce=nonce, since=tried_at, owes=owes,
                                  first_wait=0.0)
        if not ready:
            return
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                ids = await self._stream.append_all([(e, n) for e, n, _ in ready])
        except Exception as exc:  # noqa: BLE001 - must not raise: retried later, logged
            self._logger.warning("audit events not stored yet (%s); retrying",
                                 type(exc).__name__)
            # Some may be stored: a retry finds those by their nonces and stores no copy.
            for event, nonce, owes in ready:
                self._retry_later(event, nonce=nonce, since=tried_at, owes=owes)
            return
        await self._settle_all([(e, n) for e, n, owes in ready if owes])
        for item, event_id in zip(ready, ids, strict=True):
            with context.scope(**logged_in[id(item)]):  # each under its own request
                self._log(item[0], event_id)

    async def record_once(self, event: AuditEvent, *, nonce: str, since: float) -> None:
        event = without_addresses(event)
        task = self._retry_later(event, nonce=nonce, since=since, owes=True, first_wait=0.0)
        await asyncio.wait({task}, timeout=APPEND_SECONDS)

    def _retry_later(self, event: AuditEvent, *, nonce: str, since: float, owes: bool,
                     first_wait: float = 0.5) -> asyncio.Task[None]:
        key = event.secret_id or ""
        task = asyncio.get_running_loop().create_task(self._retry(
            event, nonce=nonce, since=since, first_wait=first_wait, owes=owes,
            after=self._queued.get(key)))
        self._queued[key] = task
        self._retries.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._retries.discard(finished)
            if self._queued.get(key) is finished:
                del self._queued[key]
        task.add_done_callback(done)
        return task

    async def record_owed(self, event: AuditEvent, *, nonce: str, since: float) -> bool:
        event = without_addresses(event)
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                event_id = await self._stream.append(event, nonce=nonce, retry_since=since)
        except Exception as exc:  # noqa: BLE001 - left owed: the next sweep tries again
            self._logger.warning("owed audit event %s not stored yet (%s)",
                                 event.action.value, type(exc).__name__)
            return False
        if self._metrics is not None:
            self._metrics.count_event(event)
        await self._settle_all([(event, nonce)])
        self._logger.info("audit %s id=%s code=%s stored for a stopped process",
                          event.action.value, event_id, event.code)
        return True

    async def _settle_all(self, stored: Sequence[tuple[AuditEvent, str]]) -> None:
        """The events are stored: what their changes owed is paid (one round trip). If
        this fails, the sweep finds them stored by their nonces and settles them then."""
        by_secret: dict[str, list[str]] = {}
        for event, nonce in stored:
            if event.secret_id is not None:
                by_secret.setdefault(event.secret_id, []).append(nonce)
        if self._owed is None or not by_secret:
            return
        try:
            await self._owed.settle_all(by_secret)
        except StorageUnavailable:
            self._logger.warning("an owed audit event stays owed: storage unreachable")

    async def _retry(self, event: AuditEvent, *, nonce: str, since: float,
                     first_wait: float = 0.5, owes: bool = True,
                     after: asyncio.Task[None] | None = None) -> None:
        if after is not None:
            await asyncio.wait({after})  # the secret's earlier events first
        wait, waited = first_wait, 0.0
        while waited < RETRY_SECONDS:
            await asyncio.sleep(wait)
            waited += wait
            wait = max(wait, 0.5)
            try:
                event_id = await self._stream.append(event, nonce=nonce, retry_since=since)
            except Exception:  # noqa: BLE001 - Redis still away: wait longer
                wait = min(wait * 2, 30.0)
                continue
            if owes:
                await self._settle_all([(event, nonce)])
            self._logger.info("audit %s id=%s stored late", event.action.value, event_id)
            return
        self._logger.error("audit event %s could not be stored (code=%s actor=%s)",
                           event.action.value, event.code, event.actor)


def without_addresses(event: AuditEvent) -> AuditEvent:
    """The event as the log keeps it: email recipients' addresses masked, in its actor,
    its recipients, its index keys and the log line alike."""
    actor, recipients = masked(event.actor), tuple(masked(r) for r in event.recipients)
    if actor == event.actor and recipients == event.recipients:
        return event
    return replace(event, actor=actor, recipients=recipients)
