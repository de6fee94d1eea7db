"""Delivery of the audit stream to the admin channel: in order, and each event once.

One process at a time holds the delivery lease. Each batch is marked pending in Redis
(in one step with the lease check) before it is posted with metadata naming it, and the
cursor moves past it in one step with forgetting it. A pending batch left behind (the
process was killed mid-post, or Slack's answer was lost) is first looked for in the
channel's history: found, the cursor moves without posting; absent, it is posted; when
the bot cannot read the history (no channels:history / groups:history scope), it is
posted again with a visible "may repeat" note and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit.history import Outcome, find_batch, metadata
from bot.domain import AuditEvent
from bot.errors import StorageUnavailable
from bot.slack.calls import SLACK_FAILURES, failure_reason, without_retries
from bot.storage.audit_batches import PendingBatch
from bot.storage.audit_stream import AuditStream
from bot.telemetry.metrics import Metrics

TEXT_BUDGET = 12_000  # characters per audit message (Slack cuts a message at 40,000)
LEASE_SECONDS = 30.0
POST_TIMEOUT_SECONDS = 5.0  # well inside the lease: a post never outlives it
# A post is sent only with this much lease left, and an unanswered post is looked for
# no sooner than this after it was sent: a request still travelling lands first.
SETTLE_SECONDS = POST_TIMEOUT_SECONDS * 2
MAX_BACKOFF_SECONDS = 60.0
BATCH = 100  # events per message under a burst (~15k characters; Slack allows 40k)
# Answers that will not change by retrying: with several workspaces, such a workspace's
# events are kept in the log only, so that one workspace cannot stop the others' audit.
REFUSALS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth",
            "token_revoked", "account_inactive", "not_authed", "missing_scope"}


class AuditRoutes(Protocol):
    """Where each workspace's events go (see bot.workspaces)."""

    async def client(self, team_id: str) -> AsyncWebClient | None: ...

    async def audit_channel(self, team_id: str) -> str | None: ...


class AuditOutbox:
    """Posts the audit stream to the admin channel, once, in order, whatever happens.

    With one workspace: `client` and `channel_id`. With several (`routes`), each
    workspace's events go only to its own channel, with its own token: a message holds
    consecutive events of one workspace, and a workspace without an audit channel or
    installation, or whose channel refuses the bot, has its events kept in the log only.
    """

    def __init__(self, stream: AuditStream, client: AsyncWebClient | None = None, *,
                 channel_id: str | None = None, routes: AuditRoutes | None = None,
                 logger: logging.Logger, post_interval: float = 1.0,
                 metrics: Metrics | None = None) -> None:
        self._stream = stream
        self._batches = stream.batches
        # No retries inside a post: a retried post whose first answer was lost would post
        # twice. Failures come back here, and the outbox retries in order, with backoff.
        self._client = without_retries(client, timeout=POST_TIMEOUT_SECONDS) \
            if client is not None else None
        self._channel = channel_id
        self._routes = routes
        self._logger = logger
        self._interval = post_interval
        self._metrics = metrics
        self._owner = secrets.token_hex(8)  # this process, as a lease holder
        self._failures = 0
        self._bot_ids: dict[str, str | None] = {}  # team -> the bot's id there

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
            posted = await self._deliver_next()
        except StorageUnavailable:
            return self._backoff(None)
        except SLACK_FAILURES as exc:
            return self._backoff(exc)
        self._failures = 0
        return self._interval if posted else self._interval / 2

    async def _deliver_next(self) -> int:
        cursor = await self._stream.delivered()
        pending = await self._batches.current()
        if pending is not None and pending.after == cursor:
            return await self._settle(pending)
        if pending is not None:  # the cursor moved past it by other means: stale
            await self._batches.drop(pending.batch)
        events = await self._stream.after(cursor, count=BATCH)
        if not events:
            return 0
        team = events[0].team_id if self._routes is not None else ""
        if self._routes is not None:
            events = list(itertools.takewhile(lambda e: e.team_id == team, events))
        events = _within_budget(events)
        now = time.time()
        batch = PendingBatch(batch=secrets.token_hex(8), after=cursor, first=_id(events[0]),
                             last=_id(events[-1]), channel="", team=team, at=now, tried=now)
        return await self._post(batch, events)

    async def _settle(self, pending: PendingBatch) -> int:
        """A batch whose post may have arrived: look for it before posting it again."""
        if time.time() - pending.tried < SETTLE_SECONDS:
            return 0  # its post may still be on its way: look later
        route = await self._route(pending.team)
        if route is None or not pending.channel:
            return await self._post(pending, [])  # kept in the log only
        client, channel = route
        outcome, reason = await find_batch(client, channel=channel, batch=pending.batch,
                                           since=pending.at,
                                           bot_id=await self._bot_id(pending.team, client))
        self._count(outcome)
        if outcome is Outcome.FOUND:
            self._logger.info("audit batch %s had arrived before a restart or a lost "
                              "answer: not posted again", pending.batch)
            await self._batches.finish(pending)
            return 0
        if outcome is Outcome.UNKNOWN:
            self._logger.warning("audit batch %s may have arrived already, and the channel "
                                 "cannot be read (%s): posting it again, marked as a "
                                 "possible repeat", pending.batch, reason)
        events = await self._stream.between(pending.first, pending.last, count=BATCH)
        retry = dataclasses.replace(pending, tried=time.time(), unverified=pending.unverified
                                    or outcome is Outcome.UNKNOWN)
        return await self._post(retry, events)

    async def _post(self, batch: PendingBatch, events: Sequence[AuditEvent]) -> int:
        """Mark `batch` pending, post it, move the cursor past it."""
        route = await self._route(batch.team) if events else None
        if route is None:
            if events:
                self._logger.info("workspace %s has no audit channel or installation: %d "
                                  "events kept in the log only", batch.team or "?", len(events))
            await self._record_delivery(batch)
            return len(events)
        client, channel = route
        batch = dataclasses.replace(batch, channel=channel)
        if not await self._batches.begin(self._owner, batch,
                                         lease_ms=int(SETTLE_SECONDS * 1000)):
            return 0  # the lease is short or lost, or the cursor moved: next step decides
        try:
            await client.chat_postMessage(channel=channel, **render.audit_batch(
                events, metadata=metadata(batch.batch), may_repeat=batch.unverified))
        except SlackApiError as exc:
            if not _refused(exc):
                raise  # the post may have arrived: the batch stays pending
            if self._routes is not None and exc.response.get("error") in REFUSALS:
                self._logger.warning("workspace %s refused its audit post (%s): %d events "
                                     "kept in the log only", batch.team, failure_reason(exc),
                                     len(events))
                await self._record_delivery(batch)
                return len(events)
            if not batch.unverified:
                await self._batches.drop(batch.batch)  # certainly not posted: start afresh
            raise
        await self._record_delivery(batch)
        return len(events)

    async def _route(self, team: str) -> tuple[AsyncWebClient, str] | None:
        """The client and channel of a workspace's audit posts (None: kept in the log)."""
        if self._routes is None:
            assert self._client is not None
            assert self._channel is not None
            return self._client, self._channel
        channel = await self._routes.audit_channel(team)
        client = await self._routes.client(team) if channel else None
        if client is None or channel is None:
            return None
        return without_retries(client, timeout=POST_TIMEOUT_SECONDS), channel

    async def _bot_id(self, team: str, client: AsyncWebClient) -> str | None:
        """The bot's own id in a workspace: only its own posts can vouch for a batch."""
        if team not in self._bot_ids:
            answer = await client.auth_test()
            found = answer.get("bot_id")
            self._bot_ids[team] = str(found) if found else None
        return self._bot_ids[team]

    async def _record_delivery(self, batch: PendingBatch) -> None:
        # Posted: the cursor must move, or the batch would be looked for and found again
        # (or, unreadable history, posted again). A Redis blip is retried a few times;
        # after that the batch stays pending for the next step.
        for attempt in range(3):
            try:
                await self._batches.finish(batch)
                return
            except StorageUnavailable:
                await asyncio.sleep(0.5 * (attempt + 1))
        raise StorageUnavailable("could not record an audit delivery")

    def _count(self, outcome: Outcome) -> None:
        if self._metrics is not None:
            self._metrics.audit_recovered.labels(outcome.value).inc()

    def _backoff(self, exc: BaseException | None) -> float:
        self._failures += 1
        retry_after = _retry_after(exc)
        wait = retry_after if retry_after is not None else min(
            MAX_BACKOFF_SECONDS, self._interval * 2 ** self._failures)
        reason = failure_reason(exc) if exc else "Redis unreachable"
        self._logger.warning("audit delivery failed (%s); retrying in %.1f s", reason, wait)
        return wait


def _id(event: AuditEvent) -> str:
    assert event.event_id is not None  # events read from the stream have ids
    return event.event_id


def _refused(exc: SlackApiError) -> bool:
    """Slack answered and refused (nothing was posted), rather than the answer being an
    HTTP error from somewhere on the way, after which the post may have happened."""
    return exc.response.status_code in (200, 429)


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
