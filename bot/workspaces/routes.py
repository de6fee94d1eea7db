"""Which Slack client and which audit channel serve a workspace, outside a request.

A request brings its own client (Bolt's `context.client`, with the token of the
workspace it came from). Work that runs later for a secret (expiry notices, reminders)
and the audit outbox have only a team id: they ask here. With one bot token every team
gets the one client; with OAuth each installed workspace gets a client with its own
token, and a workspace that is not installed (any more) gets none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.log import AuditLog
from bot.secrets.notices import Notices
from bot.slack.dm_channels import DmChannels
from bot.storage.installations import RedisInstallationStore
from bot.storage.team_settings import TeamSettingsStore


class Workspaces(Protocol):
    """Clients and audit channels by team id."""

    async def client(self, team_id: str) -> AsyncWebClient | None:
        """A client with the workspace's token; None when it is not installed."""
        ...

    async def audit_channel(self, team_id: str) -> str | None:
        """Where the workspace's audit events go; None: stored and logged only."""
        ...


class OneWorkspace:
    """SLACK_BOT_TOKEN: one client and AUDIT_CHANNEL_ID for everything."""

    def __init__(self, client: AsyncWebClient, *, audit_channel: str | None) -> None:
        self._client = client
        self._channel = audit_channel

    async def client(self, team_id: str) -> AsyncWebClient | None:
        return self._client

    async def audit_channel(self, team_id: str) -> str | None:
        return self._channel


class InstalledWorkspaces:
    """OAuth: each workspace's bot token from the installation store, and its own
    settings (the audit channel its admins chose)."""

    def __init__(self, installations: RedisInstallationStore, settings: TeamSettingsStore, *,
                 make_client: Callable[[str], AsyncWebClient]) -> None:
        self._installations = installations
        self._settings = settings
        self._make_client = make_client

    async def client(self, team_id: str) -> AsyncWebClient | None:
        bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            return None
        return self._make_client(bot.bot_token)

    async def audit_channel(self, team_id: str) -> str | None:
        return (await self._settings.get(team_id)).audit_channel


class TeamNotices:
    """Notices through the client of a given workspace (for the sweeps)."""

    def __init__(self, workspaces: Workspaces, *, audit: AuditLog, logger: logging.Logger,
                 clock: Callable[[], float], dm_channels: DmChannels | None = None) -> None:
        self._workspaces = workspaces
        self._dm_channels = dm_channels
        self._audit = audit
        self._logger = logger
        self._clock = clock

    async def for_team(self, team_id: str) -> Notices | None:
        client = await self._workspaces.client(team_id)
        if client is None:
            self._logger.info("no installation for workspace %s: nobody is told", team_id)
            return None
        return Notices(client, audit=self._audit, logger=self._logger, clock=self._clock,
                       dm_channels=self._dm_channels)
