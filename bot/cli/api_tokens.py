"""Operator commands `api-tokens create|list|revoke`: tokens for the HTTP API, made at the
command line (admins make them in Slack too: `/share-secret admin api-token ...`).

`create` prints what it made, then the token alone on the last line (`tail -n 1` takes
it); it is never printed, logged or stored anywhere else. Creating and revoking are
audited like the admin command, by "the command line"; the audit channel gets the line
from the running bot, which posts the audit log.

The workspace: with one bot token (SLACK_BOT_TOKEN) it is the token's own, which Slack's
`auth.test` tells; with several workspaces (OAuth) `--team` names one that installed the
bot.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from slack_sdk.web.async_client import AsyncWebClient

from bot.api.tokens import CLI_ACTOR, MAX_TOKENS, ApiToken, ApiTokens
from bot.audit import events
from bot.audit.log import DurableAuditLog
from bot.config import Settings
from bot.crypto import StaticKeyRing
from bot.errors import ConfigError
from bot.slack.calls import SLACK_FAILURES, failure_reason
from bot.storage import KeySpace, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.connection import RedisClient
from bot.storage.installations import RedisInstallationStore

_TEAM = re.compile(r"^T[A-Z0-9]+$")
SLACK_SECONDS = 10


async def create_token(settings: Settings, *, name: str, team: str | None,
                       receipts_to: str | None, out: TextIO = sys.stdout) -> int:
    """Create a token; print it, alone, on the last line. Raises ValidationFailed for a
    bad or taken name, a bad receipts target, or a workspace with too many tokens."""
    client = _redis(settings)
    try:
        team_id = await workspace(settings, client, team)
        token, bearer = await _tokens(settings, client).create(
            team_id=team_id, name=name, created_by=CLI_ACTOR, receipts_to=receipts_to)
        await _audit(settings, client).record(
            events.api_token_created(token, at=token.created_at, actor=CLI_ACTOR))
    finally:
        await client.aclose()
    receipts = f"receipts to {token.receipts_to}" if token.receipts_to else \
        "receipts to the audit channel only"
    out.write(f"Created API token {token.name} (id {token.token_id}) for workspace "
              f"{token.team_id}; {receipts}.\n"
              "The token follows, shown this once: share-secret keeps only a hash of it.\n"
              f"{bearer}\n")
    return 0


async def list_tokens(settings: Settings, *, team: str | None,
                      out: TextIO = sys.stdout) -> int:
    """Print the workspace's live tokens (never a token's text: only ids and names)."""
    client = _redis(settings)
    try:
        team_id = await workspace(settings, client, team)
        tokens = await _tokens(settings, client).list(team_id)
    finally:
        await client.aclose()
    if not tokens:
        out.write(f"No API tokens in workspace {team_id}.\n")
        return 0
    out.write(f"API tokens of workspace {team_id} ({len(tokens)} of at most {MAX_TOKENS}):\n")
    for token in tokens:
        out.write(f"  {token.token_id}  {token.name:<24} created {_when(token.created_at)} "
                  f"by {_by(token)}; receipts to {token.receipts_to or 'the audit channel'}\n")
    return 0


async def revoke_token(settings: Settings, *, name_or_id: str, team: str | None,
                       out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Revoke a token by name or id; 1 when the workspace has no such live token."""
    client = _redis(settings)
    try:
        team_id = await workspace(settings, client, team)
        token = await _tokens(settings, client).revoke(team_id=team_id, name_or_id=name_or_id)
        if token is not None:
            await _audit(settings, client).record(
                events.api_token_revoked(token, at=time.time(), actor=CLI_ACTOR))
    finally:
        await client.aclose()
    if token is None:
        err.write(f"share-secret: workspace {team_id} has no live API token named "
                  f"{name_or_id!r} or with that id (`api-tokens list` shows them)\n")
        return 1
    out.write(f"Revoked API token {token.name} (id {token.token_id}) of workspace "
              f"{team_id}: requests with it are refused from now on.\n")
    return 0


async def workspace(settings: Settings, client: RedisClient, team: str | None) -> str:
    """The workspace a command is about: `team`, checked, or with one bot token the
    token's own. Raises ConfigError, with what to do, when it cannot be known."""
    if team is not None and not _TEAM.fullmatch(team):
        raise ConfigError(f"--team must be a workspace id such as T0123ABCD, not {team!r}")
    if settings.oauth:
        if team is None:
            raise ConfigError("this deployment serves several workspaces (OAuth): name one "
                              "with --team T0123ABCD")
        store = RedisInstallationStore(client, keys=KeySpace(settings.redis_key_prefix),
                                       keyring=StaticKeyRing(settings.encryption_keys))
        if not await store.has_installation(team):
            raise ConfigError(f"workspace {team} has not installed share-secret")
        return team
    token = settings.slack_bot_token
    slack = AsyncWebClient(token=token.get_secret_value() if token else None,
                           base_url=settings.slack_api_url, timeout=SLACK_SECONDS)
    try:
        own = str((await slack.auth_test()).get("team_id") or "")
    except SLACK_FAILURES as exc:
        if team is not None:
            return team  # Slack is out of reach: the operator's word stands
        raise ConfigError(f"could not ask Slack which workspace SLACK_BOT_TOKEN belongs to "
                          f"({failure_reason(exc)}): name it with --team T0123ABCD") from None
    if not own:
        raise ConfigError("Slack did not say which workspace SLACK_BOT_TOKEN belongs to: "
                          "name it with --team T0123ABCD")
    if team is not None and team != own:
        raise ConfigError(f"SLACK_BOT_TOKEN belongs to workspace {own}, not {team}")
    return own


def _redis(settings: Settings) -> RedisClient:
    return connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)


def _tokens(settings: Settings, client: RedisClient) -> ApiTokens:
    return ApiTokens(client, keys=KeySpace(settings.redis_key_prefix),
                     keyring=StaticKeyRing(settings.encryption_keys))


def _audit(settings: Settings, client: RedisClient) -> DurableAuditLog:
    """The audit log as the bot keeps it: the stream the running bot posts from."""
    return DurableAuditLog(AuditStream(client, prefix=settings.redis_key_prefix,
                                       retention_seconds=settings.audit_retention_days
                                       * 86400),
                           logger=logging.getLogger("bot.audit"))


def _by(token: ApiToken) -> str:
    return "the command line" if token.created_by == CLI_ACTOR else token.created_by


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
