"""Audit events: what happened to which secret, by whom. Never any content.

`DurableAuditLog.record` writes each event to the Redis Stream first (the system of
record) and logs it. `AuditOutbox` then delivers the stream to the admin channel, in
order, from whichever process holds the delivery lease: retried with backoff while
Slack fails (errors, 429 with Retry-After, outages), resumed after restarts, and
grouped into fewer messages under a burst, since Slack accepts about one message per
second per channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import AuditAction, AuditEvent
from bot.errors import StorageUnavailable
from bot.slack_calls import SLACK_FAILURES, failure_reason, without_retries
from bot.storage.audit_stream import AuditStream
from bot.telemetry.metrics import Metrics

__all__ = ["AuditAction", "AuditEvent", "AuditLog", "AuditOutbox", "DurableAuditLog"]

APPEND_SECONDS = 0.5  # an append before Slack is answered: well inside its 3 s
RETRY_SECONDS = 3600.0  # how long an unstored event is retried in the background
# How far before its first try a retried event is looked for (clocks of the bot and
# Redis may differ a little; stream ids are Redis's milliseconds).
RETRY_LOOKBACK_SECONDS = 60.0
TEXT_BUDGET = 12_000  # characters per audit message (Slack cuts a message at 40,000)
LEASE_SECONDS = 30.0
POST_TIMEOUT_SECONDS = 5.0  # well inside the lease: a post never outlives it
MAX_BACKOFF_SECONDS = 60.0
BATCH = 100  # events per message under a burst (~15k characters; Slack allows 40k)
# Answers that will not change by retrying: with several workspaces, such a workspace's
# events are kept in the log only, so that one workspace cannot stop the others' audit.
REFUSALS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth",
            "token_revoked", "account_inactive", "not_authed", "missing_scope"}


class AuditLog(Protocol):
    """Where audit events go."""

    async def record(self, event: AuditEvent) -> None:
        """Record one event; must not raise for delivery problems."""
        ...


class AuditRoutes(Protocol):
    """Where each workspace's events go (see bot.workspaces)."""

    async def client(self, team_id: str) -> AsyncWebClient | None: ...

    async def audit_channel(self, team_id: str) -> str | None: ...


class DurableAuditLog:
    """Appends every event to the audit stream and logs it (metadata only).

    `record` often runs before Slack is answered, so it waits at most APPEND_SECONDS; an
    event that could not be stored by then is kept and stored again in the background
    (with backoff, for up to RETRY_SECONDS), never dropped on the first failure.
    """

    def __init__(self, stream: AuditStream, *, logger: logging.Logger,
                 metrics: Metrics | None = None) -> None:
        self._stream = stream
        self._logger = logger
        self._metrics = metrics
        self._retries: set[asyncio.Task[None]] = set()

    async def record(self, event: AuditEvent) -> None:
        if self._metrics is not None:
            self._metrics.count_event(event)
        # A failed append may have been stored all the same (Redis applied it, then the
        # answer was lost): the nonce lets the retry see that and not store it twice.
        nonce, tried_at = secrets.token_hex(8), time.time() - RETRY_LOOKBACK_SECONDS
        try:
            async with asyncio.timeout(APPEND_SECONDS):
                event_id = await self._stream.append(event, nonce=nonce)
        except Exception as exc:  # noqa: BLE001 - must not raise: retried later, logged
            self._logger.warning("audit event %s not stored yet (%s); retrying",
                                 event.action.value, type(exc).__name__)
            task = asyncio.get_running_loop().create_task(
                self._retry(event, nonce=nonce, since=tried_at))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
            return
        self._logger.info("audit %s id=%s code=%s actor=%s team=%s", event.action.value,
                          event_id, event.code, event.actor, event.team_id,
                          extra={"event": "audit", "audit_event": event.action.value,
                                 "code": event.code, "actor": event.actor})

    async def _retry(self, event: AuditEvent, *, nonce: str, since: float) -> None:
        wait, waited = 0.5, 0.0
        while waited < RETRY_SECONDS:
            await asyncio.sleep(wait)
            waited += wait
            try:
                event_id = await self._stream.append(event, nonce=nonce, retry_since=since)
            except Exception:  # noqa: BLE001 - Redis still away: wait longer
                wait = min(wait * 2, 30.0)
                continue
            self._logger.info("audit %s id=%s stored late", event.action.value, event_id)
            return
        self._logger.error("audit event %s could not be stored (code=%s actor=%s)",
                           event.action.value, event.code, event.actor)


class AuditOutbox:
    """Posts the audit stream to the admin channel, once, in order, whatever happens.

    With one workspace: `client` and `channel_id`. With several (`routes`), each
    workspace's events go only to its own channel, with its own token: a message holds
    consecutive events of one workspace, and a workspace without an audit channel or
    installation, or whose channel refuses the bot, has its events kept in the log only.
    """

    def __init__(self, stream: AuditStream, client: AsyncWebClient | None = None, *,
                 channel_id: str | None = None, routes: AuditRoutes | None = None,
                 logger: logging.Logger, post_interval: float = 1.0) -> None:
        self._stream = stream
        # No retries inside a post: a retried post whose first answer was lost would post
        # twice. Failures come back here, and the outbox retries in order, with backoff.
        self._client = without_retries(client, timeout=POST_TIMEOUT_SECONDS) \
            if client is not None else None
        self._channel = channel_id
        self._routes = routes
        self._logger = logger
        self._interval = post_interval
        self._owner = secrets.token_hex(8)  # this process, as a lease holder
        self._failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set. (A flag rather than only cancellation: the Redis
        client can turn a cancellation in flight into a connection error.)"""
        while not stop.is_set():
            try:
                wait = await self.step()
            except Exception as exc:  # noqa: BLE001 - the log must keep flowing; logged
                self._logger.error("audit delivery step failed: %s", type(exc).__name__)
                wait = self._backoff(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        with contextlib.suppress(StorageUnavailable):
            await self._stream.let_go(self._owner)

    async def step(self) -> float:
        """One attempt: hold the lease and post the next batch. Returns seconds to wait."""
        try:
            if not await self._stream.hold_lease(self._owner, seconds=LEASE_SECONDS):
                return LEASE_SECONDS / 3  # another process delivers; stand by
            posted = await self._post_next()
        except StorageUnavailable:
            return self._backoff(None)
        except SLACK_FAILURES as exc:
            return self._backoff(exc)
        self._failures = 0
        return self._interval if posted else self._interval / 2

    async def _post_next(self) -> int:
        cursor = await self._stream.delivered()
        events = await self._stream.after(cursor, count=BATCH)
        if not events:
            return 0
        # Post only with the lease held for longer than the post can take, so no other
        # process can take over mid-post and post the same events.
        if await self._stream.lease_left(self._owner) < POST_TIMEOUT_SECONDS * 2:
            return 0
        if self._routes is not None:
            team = events[0].team_id
            events = _within_budget(list(itertools.takewhile(lambda e: e.team_id == team,
                                                             events)))
            await self._post_to_team(team, events)
        else:
            assert self._client is not None
            assert self._channel is not None
            events = _within_budget(events)
            await self._client.chat_postMessage(channel=self._channel,
                                                **render.audit_batch(events))
        last = events[-1].event_id
        assert last is not None
        await self._record_delivery(cursor, last)
        return len(events)

    async def _post_to_team(self, team: str, events: list[AuditEvent]) -> None:
        assert self._routes is not None
        channel = await self._routes.audit_channel(team)
        client = await self._routes.client(team) if channel else None
        if client is None or channel is None:
            self._logger.info("workspace %s has no audit channel or installation: %d events "
                              "kept in the log only", team or "?", len(events))
            return
        try:
            await without_retries(client, timeout=POST_TIMEOUT_SECONDS).chat_postMessage(
                channel=channel, **render.audit_batch(events))
        except SlackApiError as exc:
            if exc.response.get("error") not in REFUSALS:
                raise
            self._logger.warning("workspace %s refused its audit post (%s): %d events kept "
                                 "in the log only", team, failure_reason(exc), len(events))

    async def _record_delivery(self, cursor: str, last: str) -> None:
        # Posted: the cursor must move, or the batch would be posted again. A Redis blip
        # is retried a few times before giving up (and reposting, the lesser evil).
        for attempt in range(3):
            try:
                await self._stream.mark_delivered(cursor, last)
                return
            except StorageUnavailable:
                await asyncio.sleep(0.5 * (attempt + 1))
        raise StorageUnavailable("could not record an audit delivery")

    def _backoff(self, exc: BaseException | None) -> float:
        self._failures += 1
        retry_after = _retry_after(exc)
        wait = retry_after if retry_after is not None else min(
            MAX_BACKOFF_SECONDS, self._interval * 2 ** self._failures)
        reason = failure_reason(exc) if exc else "Redis unreachable"
        self._logger.warning("audit delivery failed (%s); retrying in %.1f s", reason, wait)
        return wait


def _within_budget(events: list[AuditEvent]) -> list[AuditEvent]:
    """The longest run of events whose lines fit one message (at least one event)."""
    taken: list[AuditEvent] = []
    size = 0
    for event in events:
        size += len(render.audit_line(event)) + 1
        if taken and size > TEXT_BUDGET:
            break
        taken.append(event)
    return taken


def _retry_after(exc: BaseException | None) -> float | None:
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        value = exc.response.headers.get("Retry-After") or exc.response.headers.get(
            "retry-after")
        try:
            return max(1.0, float(value)) if value else None
        except (TypeError, ValueError):
            return None
    return None
