"""What the listeners need, assembled once at start-up and passed down."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.api.tokens import ApiTokens
from bot.audit import events
from bot.audit.log import AuditLog
from bot.background import Background
from bot.domain import AuditEvent
from bot.errors import RateLimited
from bot.secrets.external import LinksMailer as LinksMailer  # the handlers' name too
from bot.secrets.followups import Followups
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.notices import Notices
from bot.secrets.sharing import SharingService
from bot.slack.admins import Admins
from bot.slack.dm_channels import DmChannels
from bot.slack.names import SlackNames
from bot.slack.people import PersonCache
from bot.slack.respond import Responder
from bot.storage.audit_stream import AuditStream
from bot.storage.home_seen import HomeSeen
from bot.storage.once import OnceMarks
from bot.storage.team_settings import TeamSettingsStore
from bot.telemetry.metrics import Metrics
from bot.workspaces.policy import ExternalSharing


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
    logger: logging.Logger
    once: OnceMarks
    respond: Responder  # answering a click: views, response_url posts, "busy"
    followups: Followups  # after reveals, many at once: their audit events, burned secrets
    home_seen: HomeSeen  # who opened their Home tab (only theirs are kept up to date)
    clock: Callable[[], float] = field(default=time.time)
    # Several workspaces (OAuth): each one's audit channel and admins; None with one token.
    team_settings: TeamSettingsStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # DM channels by person, for every workspace's client (bot.slack.dm_channels).
    dm_channels: DmChannels = field(default_factory=DmChannels)
    # Sharing with people outside Slack: the web pages' URL, mail, each workspace's policy.
    external: ExternalSharing | None = None
    links_mailer: LinksMailer | None = None  # None: no SMTP_URL, the link is not mailed
    names: SlackNames | None = None  # who shared, as the link mail names them
    api_tokens: ApiTokens | None = None  # tokens for the HTTP API (admin api-token ...)

    def notices(self, client: AsyncWebClient) -> Notices:
        """Notices through the client of the workspace a request came from."""
        return Notices(client, audit=self.audit, logger=self.logger, clock=self.clock,
                       dm_channels=self.dm_channels)


def rate_limited_event(deps: Deps, limited: RateLimited, *, team: str, user: str,
                       channel: str | None = None) -> AuditEvent:
    """The audit event for an attempt refused by a rate limit."""
    return events.rate_limited(limited, at=deps.clock(), actor=user, team_id=team,
                               channel=channel)


async def now_or_busy(deps: Deps, work: Coroutine[Any, Any, None], *, name: str,
                      response_url: object, client: AsyncWebClient | None = None,
                      user: str | None = None) -> None:
    """Start trigger-bound work before the listener answers, or, when the bot stays too
    busy, tell the person privately to try again (bot.background's policy)."""
    await deps.background.now_or(work, name=name, otherwise=lambda: deps.respond.busy(
        response_url, client=client, user=user))


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
