"""Several workspaces on one deployment: Slack's OAuth install flow and what it needs.

Assembled by bot.runtime when SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set (instead of
SLACK_BOT_TOKEN). Installations live in Redis (tokens encrypted with the key ring); OAuth
states are signed, and only a used one is marked in Redis; each workspace has its own
audit channel and admins; Bolt looks up the token of the workspace every request comes
from. Org-wide (Enterprise Grid) installs are refused.
"""

from __future__ import annotations

import enum
import logging
import time
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
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.api.tokens import ApiTokens
from bot.audit import events
from bot.audit.log import AuditLog
from bot.config import Settings
from bot.crypto import KeyRing
from bot.domain import SLACK_PLATFORM
from bot.errors import CannotVerify, StorageUnavailable
from bot.slack.admins import Admins, workspace_admin
from bot.slack.delivery import Delivery
from bot.storage.connection import RedisClient
from bot.storage.installations import RedisInstallationStore, RedisOAuthStateStore
from bot.storage.keys import KeySpace
from bot.storage.team_settings import TeamSettingsStore
from bot.workspaces.routes import InstalledWorkspaces

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class Installer(enum.Enum):
    """Where whoever completed an install stands; the value is the audit event's detail."""

    FIRST = "share-secret installed; the installer is its first admin"
    ADMIN = "share-secret installed again by one of its admins"
    WORKSPACE_ADMIN = ("share-secret installed again by a workspace admin or owner: now a "
                       "share-secret admin")
    MEMBER = "share-secret installed again by someone who is not an admin: not made one"
    UNVERIFIED = ("share-secret installed again; Slack could not say whether the installer "
                  "is a workspace admin: not made an admin")
    UNRECORDED = "share-secret installed; the installer's role could not be stored"

    @property
    def is_admin(self) -> bool:
        return self in (Installer.FIRST, Installer.ADMIN, Installer.WORKSPACE_ADMIN)


@dataclass(frozen=True)
class MultiWorkspace:
    """The OAuth mode's parts, for the runtime to hand out."""

    installations: RedisInstallationStore
    team_settings: TeamSettingsStore
    workspaces: InstalledWorkspaces
    admins: Admins
    bolt_options: dict[str, Any]  # keyword arguments for AsyncApp


def build(settings: Settings, *, redis: RedisClient, keys: KeySpace, keyring: KeyRing,
          client: AsyncWebClient, make_client: Callable[[str], AsyncWebClient],
          audit: AuditLog, logger: logging.Logger,
          clock: Callable[[], float]) -> MultiWorkspace:
    """Everything OAuth mode needs; `client` (no token) calls oauth.v2.access and
    auth.test, `make_client(token)` makes a workspace's client."""
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
        bolt_options={"oauth_flow": _WorkspaceInstallsOnly(
            installations, client=client, logger=logging.getLogger("slack_bolt"),
            settings=oauth_settings),
            "authorize": authorize})


def register_uninstall(app: AsyncApp, logger: logging.Logger,
                       team_settings: TeamSettingsStore | None = None,
                       api_tokens: ApiTokens | None = None, audit: AuditLog | None = None,
                       clock: Callable[[], float] = time.time) -> None:
    """Forget a workspace's tokens when it removes the app or revokes them; when it
    removes the app, its settings too (audit channel, admins), so that its next install
    is a first install again, and its API tokens (revoked and audited): they were made
    by admins of the installation that is gone."""
    if app.installation_store is None:
        return
    uninstalled = app.default_app_uninstalled_event_listener()
    revoked = app.default_tokens_revoked_event_listener()

    async def on_uninstalled(context: AsyncBoltContext) -> None:
        await uninstalled(context=context)
        if team_settings is not None and context.team_id:
            await team_settings.forget(context.team_id)
        if api_tokens is not None and context.team_id:
            for token in await api_tokens.revoke_all(context.team_id):
                if audit is not None:
                    await audit.record(events.api_token_revoked(
                        token, at=clock(), actor=SLACK_PLATFORM, uninstalled=True))
        logger.info("share-secret was uninstalled from %s: its installation and settings "
                    "are deleted", context.team_id or context.enterprise_id)

    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # Settings stay: revoking a token is not removing the app (Slack sends
        # app_uninstalled for that), and a reinstall then is no first install.
        await revoked(event=event, context=context)
        logger.info("tokens of %s were revoked: deleted", context.team_id or
                    context.enterprise_id)

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


# In an install callback's request context: whether the workspace had an installation
# stored before this one. Bolt stores the installation before it calls the success hook,
# so the flow notes this first; the request is this install's own, never another's.
INSTALLED_BEFORE = "share_secret_installed_before"


class _WorkspaceInstallsOnly(AsyncOAuthFlow):
    """Bolt's install flow, except that an org-wide (Enterprise Grid) install is not
    stored: admins, settings and tokens are kept per workspace (team id), while such an
    install is keyed by the organisation. The success hook then refuses it.

    Before storing, it notes whether the workspace was installed already: settings alone
    cannot say (those of a workspace installed before the install mark was kept vanish
    with its last listed admin)."""

    def __init__(self, installations: RedisInstallationStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._installations = installations

    async def store_installation(self, request: AsyncBoltRequest,
                                 installation: Installation) -> None:
        if installation.is_enterprise_install:
            return
        request.context[INSTALLED_BEFORE] = await self._installations.has_installation(
            installation.team_id or "")
        await super().store_installation(request, installation)


class _InstallHooks:
    """What happens when an install completes: a workspace's first installer becomes its
    first share-secret admin, a later one only if Slack says they administer or own the
    workspace; the install is audited, and the installer is told where they stand."""

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
        if installation.is_enterprise_install:
            self._logger.warning("an org-wide install of %s was refused",
                                 installation.enterprise_id)
            return BoltResponse(status=400, body=render.org_wide_refused_page(
                args.settings.install_path), headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion()})
        team, installer = installation.team_id or "", installation.user_id or ""
        client = self._make_client(installation.bot_token) if installation.bot_token else None
        # Not noted (no store ran): taken as installed before, so nobody is made an admin.
        installed_before = bool(args.request.context.get(INSTALLED_BEFORE, True))
        role = await self._installer_role(client, team, installer,
                                          installed_before=installed_before)
        await self._audit.record(events.settings_changed(
            at=self._clock(), actor=installer, team_id=team, what=role.value))
        self._logger.info("share-secret was installed in %s (%s)", team, role.name.lower())
        if client is not None:
            await Delivery(client, logger=self._logger).dm(
                installer, render.welcome_message(installer) if role is Installer.FIRST
                else render.reinstall_message(installer, admin=role.is_admin))
        return await args.default.success(args)

    async def _installer_role(self, client: AsyncWebClient | None, team: str,
                              installer: str, *, installed_before: bool) -> Installer:
        try:
            if await self._settings.first_install(team, installer,
                                                  installed_before=installed_before):
                return Installer.FIRST
            if installer in (await self._settings.get(team)).admins:
                return Installer.ADMIN
            if client is None or not await workspace_admin(client, team_id=team,
                                                            user_id=installer):
                return Installer.MEMBER
            await self._settings.add_admin(team, installer)
            return Installer.WORKSPACE_ADMIN
        except StorageUnavailable:
            self._logger.warning("could not record the installer of %s", team)
            return Installer.UNRECORDED
        except CannotVerify:
            return Installer.UNVERIFIED

    async def failure(self, args: AsyncFailureArgs) -> BoltResponse:
        # Bolt's page names the reason ("invalid_state: The state parameter is no longer
        # valid."); the log says it too, without the request's query (code and state).
        self._logger.warning("an install was refused: %s", args.reason)
        return await args.default.failure(args)
