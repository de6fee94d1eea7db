"""What the listeners need, assembled once at start-up and passed down."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import render
from bot.audit.log import AuditLog
from bot.background import Background, Deadline, Lane
from bot.domain import AuditAction, AuditEvent
from bot.errors import Overloaded, RateLimited
from bot.recovery import when_back
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.notices import Notices
from bot.secrets.sharing import SharingService
from bot.slack.admins import Admins
from bot.slack.calls import SLACK_FAILURES, failure_reason
from bot.slack.dm_channels import DmChannels
from bot.slack.people import PersonCache
from bot.storage.audit_stream import AuditStream
from bot.storage.once import OnceMarks
from bot.storage.team_settings import TeamSettingsStore
from bot.telemetry.metrics import Metrics


@dataclass(frozen=True)
class Deps:
    """The collaborators of every listener."""

    service: SharingService
    lifecycle: LifecycleService
    audit: AuditLog
    background: Background
    people_cache: PersonCache
    admins: Admins
    audit_stream: AuditStream
    http: aiohttp.ClientSession
    logger: logging.Logger
    once: OnceMarks
    clock: Callable[[], float] = field(default=time.time)
    # Several workspaces (OAuth): each one's audit channel and admins; None with one token.
    team_settings: TeamSettingsStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # DM channels by person, for every workspace's client (bot.slack.dm_channels).
    dm_channels: DmChannels = field(default_factory=DmChannels)

    def notices(self, client: AsyncWebClient) -> Notices:
        """Notices through the client of the workspace a request came from."""
        return Notices(client, audit=self.audit, logger=self.logger, clock=self.clock,
                       dm_channels=self.dm_channels)

    def later(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run follow-up work after the answer to Slack (it always runs: it finishes
        something already done, like telling people about a revoke)."""
        self.background.spawn(work, name=name, lane=Lane.FOLLOW_UP, committed=True)

    def recover(self, undo: Callable[[], Awaitable[bool]], *, what: str,
                on_undone: Callable[[], Awaitable[None]] | None = None) -> None:
        """Undo, once Redis answers again, a write a Redis outage left in doubt (it takes
        no lane's slot: it mostly waits)."""
        async def recovering() -> None:
            await when_back(undo, what=what, logger=self.logger, on_undone=on_undone)
        self.background.spawn(recovering(), name=f"undo-{what}", lane=None, committed=True)

    async def now_or_busy(self, work: Coroutine[Any, Any, None], *, name: str,
                          response_url: object, client: AsyncWebClient | None = None,
                          user: str | None = None) -> None:
        """Start trigger-bound work (it opens a view) before the listener answers, once
        there is room for it; when the bot stays too busy, tell the person privately to
        try again instead."""
        if not await self.background.admit(work, name=name):
            self.later(self.busy(response_url, client=client, user=user), name="busy")

    async def busy(self, response_url: object, *, client: AsyncWebClient | None = None,
                   user: str | None = None) -> None:
        """Tell someone privately that the bot could not act in time (nothing happened):
        through the interaction's response_url, or, where it has none (the Home tab, a
        shortcut), by DM."""
        if isinstance(response_url, str):
            await self.post_to_response_url(response_url, {**render.notice(render.BUSY),
                                                           "replace_original": False})
        elif client is not None and user:
            await self.notices(client).delivery.dm(user, render.notice(render.BUSY))

    def maybe_later(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Optional follow-up work (a Home refresh): skipped when MAX_IN_FLIGHT is reached."""
        try:
            self.background.spawn(work, name=name, lane=Lane.FOLLOW_UP)
        except Overloaded:
            self.logger.info("skipped %s: too much work in flight", name)

    async def open_view(self, client: AsyncWebClient, trigger_id: object,
                        view: dict[str, Any], *, deadline: Deadline | None = None,
                        response_url: object = None, user: str | None = None) -> None:
        """views.open for a notice or a form; a failure is logged (nothing to undo). Past
        the trigger's deadline the person is told to try again instead."""
        if deadline is not None and deadline.expired():
            await self.busy(response_url, client=client, user=user)
            return
        if not isinstance(trigger_id, str) or not trigger_id:
            self.logger.warning("could not open a view: the request had no trigger")
            return
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SLACK_FAILURES as exc:
            self.logger.warning("could not open a view: %s", failure_reason(exc))

    async def post_to_response_url(self, url: str | None, message: dict[str, Any]) -> None:
        """Post to an interaction's response_url (replace, or a private reply); log faults."""
        if not url:
            return
        try:
            response = await AsyncWebhookClient(url, session=self.http).send_dict(message)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.logger.warning("response_url post failed: %s", type(exc).__name__)
            return
        if response.status_code != 200:
            self.logger.warning("response_url post refused: HTTP %s %s",
                                response.status_code, response.body[:40])


def rate_limited_event(deps: Deps, limited: RateLimited, *, team: str, user: str,
                       channel: str | None = None) -> AuditEvent:
    """The audit event for an attempt refused by a rate limit."""
    return AuditEvent(AuditAction.RATE_LIMITED, at=deps.clock(), actor=user, team_id=team,
                      channel=channel, detail=render.limited_detail(limited))


def workspace_of(context: AsyncBoltContext) -> str:
    """The workspace (or, for org-wide installs, the organisation) a request came from."""
    return context.team_id or context.enterprise_id or ""


def as_dict(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (payloads can be malformed)."""
    return value if isinstance(value, dict) else {}


def user_of(body: dict[str, Any]) -> str:
    """The id of the person who acted, from an interaction payload."""
    user = body.get("user")
    return str(user.get("id", "")) if isinstance(user, dict) else ""
