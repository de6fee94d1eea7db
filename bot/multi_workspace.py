"""Several workspaces on one deployment: Slack's OAuth install flow and what it needs.

Assembled by bot.runtime when SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set (instead of
SLACK_BOT_TOKEN). Installations live in Redis (tokens encrypted with the key ring); OAuth
states are signed, and only a used one is marked in Redis; each workspace has its own
audit channel and admins; Bolt looks up the token of the workspace every request comes
from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.admins import Admins
from bot.audit import AuditLog
from bot.config import Settings
from bot.crypto import KeyRing
from bot.delivery import Delivery
from bot.domain import AuditAction, AuditEvent
from bot.errors import StorageUnavailable
from bot.storage.connection import RedisClient
from bot.storage.installations import RedisInstallationStore, RedisOAuthStateStore
from bot.storage.keys import KeySpace
from bot.storage.team_settings import TeamSettingsStore
from bot.workspaces import InstalledWorkspaces

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


@dataclass(frozen=True)
class MultiWorkspace:
    """The OAuth mode's parts, for the runtime to hand out."""

    installations: RedisInstallationStore
    team_settings: TeamSettingsStore
    workspaces: InstalledWorkspaces
    admins: Admins
    bolt_options: dict[str, Any]  # keyword arguments for AsyncApp


def build(settings: Settings, *, redis: RedisClient, keyring: KeyRing,
          client: AsyncWebClient, make_client: Callable[[str], AsyncWebClient],
          audit: AuditLog, logger: logging.Logger,
          clock: Callable[[], float]) -> MultiWorkspace:
    """Everything OAuth mode needs; `client` (no token) calls oauth.v2.access and
    auth.test, `make_client(token)` makes a workspace's client."""
    keys = KeySpace(settings.redis_key_prefix)
    installations = RedisInstallationStore(redis, keys=keys, keyring=keyring,
                                           logger=logging.getLogger("bot.installations"))
    team_settings = TeamSettingsStore(redis, keys=keys)
    assert settings.slack_client_id is not None
    assert settings.slack_client_secret is not None
    secret = settings.slack_client_secret.get_secret_value()
    hooks = _InstallHooks(team_settings, audit=audit, make_client=make_client, logger=logger,
                          clock=clock)
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id, client_secret=secret,
        scopes=list(settings.slack_scopes), user_scopes=[],
        redirect_uri=settings.slack_redirect_uri, install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, installation_store=installations,
        state_store=RedisOAuthStateStore(redis, keys=keys, keyring=keyring, clock=clock),
        callback_options=AsyncCallbackOptions(success=hooks.success, failure=hooks.failure),
        logger=logging.getLogger("slack_bolt"))
    # Bolt's default asks auth.test on every request; the answer for a token does not
    # change, and the installation (deleted on uninstall) is still looked up each time.
    authorize = AsyncInstallationStoreAuthorize(
        logger=logging.getLogger("slack_bolt"), installation_store=installations,
        client_id=settings.slack_client_id, client_secret=secret, cache_enabled=True,
        client=client)

    async def team_admins(team_id: str) -> frozenset[str]:
        return (await team_settings.get(team_id)).admins

    return MultiWorkspace(
        installations=installations, team_settings=team_settings,
        workspaces=InstalledWorkspaces(installations, team_settings, make_client=make_client),
        # A workspace's admins and owners, and its own list (the installer first).
        admins=Admins((), include_workspace_admins=True, team_admins=team_admins),
        bolt_options={"oauth_settings": oauth_settings, "authorize": authorize})


def register_uninstall(app: AsyncApp, logger: logging.Logger) -> None:
    """Forget a workspace's tokens when it removes the app or revokes them."""
    if app.installation_store is None:
        return
    uninstalled = app.default_app_uninstalled_event_listener()
    revoked = app.default_tokens_revoked_event_listener()

    async def on_uninstalled(context: AsyncBoltContext) -> None:
        await uninstalled(context=context)
        logger.info("share-secret was uninstalled from %s: its installation is deleted",
                    context.team_id or context.enterprise_id)

    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await revoked(event=event, context=context)
        logger.info("tokens of %s were revoked: deleted", context.team_id or
                    context.enterprise_id)

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


class _InstallHooks:
    """What happens when an install completes: the installer becomes the workspace's first
    share-secret admin, the install is audited, and the installer is told what to do next."""

    def __init__(self, team_settings: TeamSettingsStore, *, audit: AuditLog,
                 make_client: Callable[[str], AsyncWebClient], logger: logging.Logger,
                 clock: Callable[[], float]) -> None:
        self._settings = team_settings
        self._audit = audit
        self._make_client = make_client
        self._logger = logger
        self._clock = clock

    async def success(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        team = installation.team_id or installation.enterprise_id or ""
        installer = installation.user_id
        try:
            await self._settings.add_admin(team, installer)
        except StorageUnavailable:
            self._logger.warning("could not record the installer of %s as an admin", team)
        await self._audit.record(AuditEvent(
            AuditAction.SETTINGS_CHANGED, at=self._clock(), actor=installer, team_id=team,
            detail="share-secret installed; the installer is an admin"))
        self._logger.info("share-secret was installed in %s", team)
        if installation.bot_token:
            await Delivery(self._make_client(installation.bot_token),
                           logger=self._logger).dm(installer, render.welcome_message(installer))
        return await args.default.success(args)

    async def failure(self, args: AsyncFailureArgs) -> BoltResponse:
        # Bolt's page names the reason ("invalid_state: The state parameter is no longer
        # valid."); the log says it too, without the request's query (code and state).
        self._logger.warning("an install was refused: %s", args.reason)
        return await args.default.failure(args)
