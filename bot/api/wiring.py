"""The HTTP API, assembled from the runtime's parts (bot.runtime calls `build`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.api.deliveries import ApiDeliveries
from bot.api.idempotency import IdempotentCreates
from bot.api.recipients import WorkspaceRecipients
from bot.api.routes import ApiRoutes
from bot.api.secrets import ApiSecrets
from bot.api.tokens import ApiTokens
from bot.audit.log import AuditLog
from bot.audit.soon import AuditSoon
from bot.background import Background
from bot.config import Settings
from bot.recovery import recover
from bot.secrets.expiry import NoticesByTeam
from bot.secrets.external import LinksMailer
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.limits import RateCounter
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import NameSource
from bot.slack.people import PersonCache
from bot.storage import KeySpace, OnceMarks
from bot.storage.connection import RedisClient
from bot.workspaces.policy import ExternalSharing
from bot.workspaces.routes import Workspaces


@dataclass(frozen=True)
class ApiParts:
    """What the API shares with the rest of the bot."""

    settings: Settings
    redis: RedisClient
    keys: KeySpace
    tokens: ApiTokens
    sharing: SharingService
    lifecycle: LifecycleService
    audit: AuditLog
    external: ExternalSharing
    workspaces: Workspaces
    notices: NoticesByTeam
    mailer: LinksMailer | None
    names: NameSource
    counter: RateCounter
    background: Background
    clock: Callable[[], float]


def build(parts: ApiParts) -> ApiRoutes:
    logger = logging.getLogger("bot.api")
    deliveries = ApiDeliveries(notices=parts.notices, lifecycle=parts.lifecycle,
                               mailer=parts.mailer, names=parts.names, logger=logger)
    secrets = ApiSecrets(
        sharing=parts.sharing, lifecycle=parts.lifecycle, audit=parts.audit,
        soon=AuditSoon(parts.audit, logger=logger),
        external=parts.external, follow_ups=deliveries,
        background=parts.background,
        in_doubt=lambda record: recover(parts.background,
                                        lambda: parts.sharing.withdraw(record),
                                        what="share", logger=logger),
        recipients=WorkspaceRecipients(parts.workspaces, cache=PersonCache()),
        mail=parts.mailer is not None, clock=parts.clock)
    return ApiRoutes(tokens=parts.tokens, secrets=secrets, counter=parts.counter,
                     rate=parts.settings.api_rate,
                     replays=IdempotentCreates(OnceMarks(parts.redis, keys=parts.keys)),
                     logger=logger, clock=parts.clock)
