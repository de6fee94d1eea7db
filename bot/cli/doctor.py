"""`python -m bot doctor`: is this deployment set up right? One verdict per check.

Checks the configuration, Redis, the mail server (a real SMTP handshake, when SMTP_URL is
set), the Slack token (auth.test), the scopes Slack reports for it (the `x-oauth-scopes`
header of every Web API answer) against the ones the app manifest asks for, and that the
audit channel exists and takes the bot's posts. Each check prints OK, WARN or FAIL with a
one-line fix; any FAIL makes the exit status 1. Nothing printed quotes a credential.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli.doctor_external import public_url_check, smtp_check
from bot.cli.verdicts import TIMEOUT_SECONDS, Status, Verdict
from bot.config import MANIFEST_SCOPES, Settings, load_settings
from bot.errors import ConfigError, StorageUnavailable
from bot.slack.calls import SLACK_FAILURES, failure_reason
from bot.slack.people import EMAIL_SCOPE

# The bot scopes manifest.yml asks for (tests/unit/test_doctor.py keeps the two in step).
REQUIRED_SCOPES = MANIFEST_SCOPES
# Scopes the bot can use but does not need: posting to a public audit channel without
# being invited, reading channel information for this check, reading the audit channel's
# history so that a post in doubt after a crash is not repeated, and finding Slack
# recipients of the HTTP API by email address.
OPTIONAL_SCOPES = ("chat:write.public", "channels:read", "groups:read", "channels:history",
                   "groups:history", EMAIL_SCOPE)
MIN_REDIS = (6, 2)  # XADD ... MINID (audit stream trimming)
_REFUSED_TOKEN = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
                  "account_inactive", "not_allowed_token_type"}
TEST_LINE = ("share-secret doctor: this channel receives share-secret's audit events. "
             "(A test line; nothing happened.)")




def main(*, post_test: bool = False, out: TextIO | None = None) -> int:
    """Run every check, print the verdicts; 1 if any failed, else 0."""
    out = out or sys.stdout
    try:
        settings = load_settings()
    except ConfigError as exc:
        verdicts = [Verdict("configuration", Status.FAIL, str(exc),
                            "set the variables named above (docs/configuration.md)")]
    else:
        verdicts = asyncio.run(run_checks(settings, post_test=post_test))
    print_report(verdicts, out)
    return 1 if any(v.status is Status.FAIL for v in verdicts) else 0


def print_report(verdicts: list[Verdict], out: TextIO) -> None:
    width = max(len(v.check) for v in verdicts)
    for v in verdicts:
        print(f"{v.status.value:<4}  {v.check:<{width}}  {v.detail}", file=out)
        if v.fix and v.status is not Status.OK:
            print(f"{'':<4}  {'':<{width}}  fix: {v.fix}", file=out)
    failed = sum(v.status is Status.FAIL for v in verdicts)
    warned = sum(v.status is Status.WARN for v in verdicts)
    summary = "all checks passed" if not failed and not warned else \
        f"{failed} failed, {warned} warning{'s' if warned != 1 else ''}"
    print(f"doctor: {summary}", file=out)


async def run_checks(settings: Settings, *, post_test: bool = False) -> list[Verdict]:
    verdicts = [configuration(settings), await redis_check(settings),
                await public_url_check(settings), await smtp_check(settings)]
    if settings.slack_bot_token is None:
        verdicts.append(Verdict(
            "slack token", Status.WARN, "OAuth: each workspace's token comes with its "
            "install, so there is no single token to check",
            "check an installed workspace by installing the app there (/slack/install)"))
        return verdicts
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(),
                                base_url=settings.slack_api_url, session=session,
                                timeout=TIMEOUT_SECONDS, retry_handlers=[])
        token, scopes, bot_name = await token_check(client)
        verdicts.append(token)
        if token.status is Status.FAIL:
            return verdicts
        verdicts.append(scope_check(scopes))
        if scopes is not None:
            verdicts.append(email_lookup_check(scopes))
        verdicts += await audit_channel_checks(client, settings.audit_channel_id, scopes,
                                               post_test=post_test, bot_name=bot_name)
    return verdicts


def configuration(settings: Settings) -> Verdict:
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    if settings.oauth:
        mode += ", several workspaces (OAuth)"
    keys = len(settings.encryption_keys)
    return Verdict("configuration", Status.OK,
                   f"{mode}, {keys} encryption key{'s' if keys != 1 else ''} "
                   f"(encrypting with {settings.encryption_keys[0].key_id!r})")


async def redis_check(settings: Settings) -> Verdict:
    from redis.exceptions import RedisError

    from bot.storage import connect

    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster,
                     max_connections=2)
    try:
        info = await asyncio.wait_for(client.info("server"), timeout=TIMEOUT_SECONDS)
    except (RedisError, OSError, TimeoutError, StorageUnavailable) as exc:
        return Verdict("redis", Status.FAIL, f"unreachable ({type(exc).__name__})",
                       "check REDIS_URL (host, port, password, rediss:// for TLS) and that "
                       "Redis is running")
    finally:
        await client.aclose()
    version = str(info.get("redis_version", "?"))
    try:
        numbers = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        numbers = MIN_REDIS
    if numbers < MIN_REDIS:
        return Verdict("redis", Status.FAIL, f"Redis {version} is too old",
                       f"upgrade to Redis {'.'.join(map(str, MIN_REDIS))} or newer")
    return Verdict("redis", Status.OK, f"reachable, Redis {version}")


async def token_check(client: AsyncWebClient
                      ) -> tuple[Verdict, set[str] | None, str | None]:
    """auth.test; also the scopes Slack reports (None when it sent no header) and the
    bot's user name."""
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        code = failure_reason(exc)
        fix = ("copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions "
               "page into SLACK_BOT_TOKEN, reinstalling the app if it was removed"
               if code in _REFUSED_TOKEN else "see Slack's status page, then retry")
        return Verdict("slack token", Status.FAIL, f"Slack refused auth.test ({code})",
                       fix), None, None
    except SLACK_FAILURES as exc:
        return Verdict("slack token", Status.FAIL,
                       f"could not reach Slack ({failure_reason(exc)})",
                       "check SLACK_API_URL and outbound HTTPS from this host"), None, None
    detail = (f"workspace {answer.get('team')} ({answer.get('team_id')}) as "
              f"@{answer.get('user')} ({answer.get('user_id')})")
    name = answer.get("user")
    return (Verdict("slack token", Status.OK, detail), _scopes(answer.headers),
            name if isinstance(name, str) else None)


def scope_check(scopes: set[str] | None) -> Verdict:
    if scopes is None:
        return Verdict("scopes", Status.WARN, "Slack reported no scopes for the token",
                       "compare the app's OAuth & Permissions page with manifest.yml")
    missing = [s for s in REQUIRED_SCOPES if s not in scopes]
    if missing:
        return Verdict("scopes", Status.FAIL, "missing " + ", ".join(missing),
                       "add them under OAuth & Permissions (or recreate the app from "
                       "manifest.yml) and reinstall the app")
    extra = sorted(scopes - set(REQUIRED_SCOPES) - set(OPTIONAL_SCOPES))
    if extra:
        return Verdict("scopes", Status.WARN,
                       "has all it needs, and more: " + ", ".join(extra),
                       "remove scopes share-secret does not use (least privilege), then "
                       "reinstall the app")
    return Verdict("scopes", Status.OK, ", ".join(sorted(scopes)))


def email_lookup_check(scopes: set[str]) -> Verdict:
    """Whether the HTTP API can name Slack recipients by email address: information, not
    a fault (the manifests leave the scope out: it lets the bot read every member's
    address)."""
    if EMAIL_SCOPE in scopes:
        return Verdict("email lookup", Status.OK, f"{EMAIL_SCOPE} granted: the HTTP API can "
                       "address Slack recipients by email")
    return Verdict("email lookup", Status.OK, f"{EMAIL_SCOPE} not granted: the HTTP API can "
                   f"address Slack recipients by email only with {EMAIL_SCOPE}, by user id "
                   "otherwise (to add it: docs/api.md, \"Slack recipients by email\")")


async def audit_channel_checks(client: AsyncWebClient, channel: str | None,
                               scopes: set[str] | None, *, post_test: bool,
                               bot_name: str | None = None) -> list[Verdict]:
    if channel is None:
        return [Verdict("audit channel", Status.WARN,
                        "AUDIT_CHANNEL_ID is not set: audit events are stored and logged, "
                        "not posted", "set AUDIT_CHANNEL_ID to a channel the bot is in")]
    invite = f"invite the bot: type /invite @{bot_name or 'share-secret'} in the channel"
    verdicts = [await _channel_info(client, channel, scopes or set(), invite)]
    if post_test:
        verdicts.append(await _post_test(client, channel, invite))
    return verdicts


async def _channel_info(client: AsyncWebClient, channel: str, scopes: set[str],
                        invite: str) -> Verdict:
    name = "audit channel"
    answer, code = await _call(lambda: client.conversations_info(channel=channel))
    if code == "missing_scope":
        return Verdict(name, Status.WARN,
                       f"cannot look {channel} up: the token lacks channels:read "
                       "(groups:read for a private channel)",
                       "run `python -m bot doctor --post-test` to check by posting, or "
                       "grant the scope")
    if code == "channel_not_found":
        return Verdict(name, Status.FAIL, f"{channel} not found (or private without the bot)",
                       "check AUDIT_CHANNEL_ID (channel details, About tab); " + invite)
    if answer is None:
        return Verdict(name, Status.FAIL, f"conversations.info failed ({code})",
                       "retry; if it persists, check Slack's status page")
    info: dict[str, Any] = answer.get("channel") or {}
    label = f"#{info.get('name', '?')} ({channel})"
    if info.get("is_archived"):
        return Verdict(name, Status.FAIL, f"{label} is archived",
                       "unarchive it or set AUDIT_CHANNEL_ID to another channel")
    if info.get("is_member"):
        return Verdict(name, Status.OK, f"{label}: the bot is a member")
    if not info.get("is_private") and "chat:write.public" in scopes:
        return Verdict(name, Status.OK, f"{label}: the bot posts with chat:write.public")
    return Verdict(name, Status.FAIL, f"{label}: the bot is not a member and cannot post",
                   invite)


async def _post_test(client: AsyncWebClient, channel: str, invite: str) -> Verdict:
    _, code = await _call(lambda: client.chat_postMessage(
        channel=channel, text=TEST_LINE, unfurl_links=False, unfurl_media=False))
    if code is None:
        return Verdict("audit post", Status.OK, f"posted a test line to {channel}")
    fixes = {"not_in_channel": invite,
             "channel_not_found": "check AUDIT_CHANNEL_ID; for a private channel invite "
                                  "the bot first",
             "is_archived": "unarchive the channel or choose another"}
    return Verdict("audit post", Status.FAIL, f"Slack refused the test post ({code})",
                   fixes.get(code, "retry; if it persists, check Slack's status page"))


async def _call(call: Callable[[], Awaitable[Any]]) -> tuple[Any, str | None]:
    """(answer, None) or (None, Slack's error code or the failure's type)."""
    try:
        return await call(), None
    except SLACK_FAILURES as exc:
        return None, failure_reason(exc)


def _scopes(headers: Any) -> set[str] | None:
    raw = None
    for key, value in dict(headers or {}).items():
        if key.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) else value
    if raw is None:
        return None
    return {s.strip() for s in str(raw).split(",") if s.strip()}
