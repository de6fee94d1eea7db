"""`/share-secret [@people | help | list | status CODE | revoke CODE | request @person why]`."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.background import Deadline, Lane
from bot.errors import QuotaExceeded, RateLimited, StorageUnavailable, ValidationFailed
from bot.handlers import admin_commands
from bot.handlers.deps import Deps, rate_limited_event, workspace_of
from bot.handlers.revoke import after_revoke, audit_revocation
from bot.handlers.share_form import open_share_form
from bot.secrets.limits import MAX_REQUEST_PEOPLE
from bot.slack.people import SlackPeople

COMMAND = "/share-secret"
# Escaped mentions as Slack sends them with should_escape: <@U123> or <@U123|name>.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
PRECHECK_SECONDS = 0.5


def mentioned_users(text: str) -> list[str]:
    """User ids mentioned in a command's text, in order, without repeats."""
    return list(dict.fromkeys(_MENTION.findall(text)))


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        text = (command.get("text") or "").strip()
        first, _, rest = text.partition(" ")
        word = first.lower()
        team, user = workspace_of(context), str(command.get("user_id", ""))
        try:
            if word in {"help", "?"}:
                await ack(**render.notice(render.HELP))
            elif word == "list":
                records = await deps.lifecycle.sent_by(team_id=team, user_id=user)
                await ack(**render.secret_list(records, now=deps.clock()))
            elif word == "status":
                record = await deps.lifecycle.find(team_id=team, user_id=user, code=rest)
                await ack(**(render.secret_status(record, now=deps.clock()) if record
                             else render.notice(render.NOT_FOUND)))
            elif word == "revoke":
                revocation = await deps.lifecycle.revoke(team_id=team, user_id=user, code=rest)
                if revocation.record is None:
                    await ack(**render.notice(render.NOT_FOUND))
                    return
                await ack(**render.notice(render.revoked_notice(
                    revocation.record, revocation.previous, revocation.in_flight)))
                if revocation.revoked:
                    await audit_revocation(client, deps, revocation, user=user)
                    deps.background.later(after_revoke(client, deps, revocation, user=user),
                                          name="after-revoke")
            elif word == "admin":
                await admin_commands.command(ack, client, deps, team=team, user=user,
                                             text=rest, mentioned=mentioned_users(rest),
                                             response_url=command.get("response_url"),
                                             trigger_id=command.get("trigger_id"))
            elif word == "request":
                await _request(ack, client, deps, team=team, requester=user, text=rest,
                               response_url=command.get("response_url"))
            elif first and not _MENTION.match(first):
                await ack(**render.notice(render.unknown_command_notice(word)))
            else:
                await _open_form(ack, client, deps, command, mentioned_users(text),
                                 team=team, user=user)
        except StorageUnavailable:
            await ack(**render.notice(render.STORE_UNAVAILABLE))

    app.command(COMMAND)(on_command)


async def _open_form(ack: AsyncAck, client: AsyncWebClient, deps: Deps,
                     command: dict[str, Any], users: list[str], *, team: str,
                     user: str) -> None:
    try:
        # Said now rather than after the form is filled in. Only advice: the submission's
        # check is the one that counts, so a slow or unreachable Redis does not hold up
        # the form (its submission then reports the fault).
        async with asyncio.timeout(PRECHECK_SECONDS):
            await deps.service.ensure_room_to_share(team_id=team, user_id=user)
    except RateLimited as exc:
        await ack(**render.share_limited_notice(exc))
        await deps.audit.record(rate_limited_event(deps, exc, team=team, user=user,
                                                   channel=command.get("channel_id")))
        return
    except QuotaExceeded as exc:
        deps.metrics.quota_refused(exc.scope, exc.limit)
        await ack(**render.share_over_quota_notice(exc))
        return
    except (StorageUnavailable, TimeoutError):
        pass
    if not await deps.background.admit(open_share_form(
            client, deps, team=team, trigger_id=command.get("trigger_id"), deadline=Deadline(),
            response_url=command.get("response_url"), initial_users=users,
            origin_channel=command.get("channel_id")), name="open-share-form"):
        await ack(**render.notice(render.BUSY))
        return
    await ack()


async def _request(ack: AsyncAck, client: AsyncWebClient, deps: Deps, *, team: str,
                   requester: str, text: str, response_url: str | None) -> None:
    asked = [u for u in mentioned_users(text) if u != requester]
    reason = _MENTION.sub("", text).strip()[:300] or None
    if not asked:
        await ack(**render.notice(render.REQUEST_USAGE))
        return
    if len(asked) > MAX_REQUEST_PEOPLE:
        await ack(**render.too_many_asked(len(asked), MAX_REQUEST_PEOPLE))
        return
    # The DMs run in a lane of their own, bounded: when it is full the requester is told
    # so at once (nothing was sent, nothing counted), and shares and reveals never wait
    # behind a flood of requests.
    slot = await deps.background.reserve(Lane.REQUESTS)
    if slot is None:
        await ack(**render.notice(render.REQUESTS_BUSY))
        return
    try:
        await deps.service.count_request(team_id=team, user_id=requester)
    except RateLimited as exc:
        slot.release()
        await ack(**render.request_limited_notice(exc))
        await deps.audit.record(rate_limited_event(deps, exc, team=team, user=requester))
        return
    except BaseException:
        slot.release()
        raise
    await ack(**render.notice(render.asking_notice(asked)))
    slot.start(_send_requests(client, deps, team=team, requester=requester, asked=asked,
                              reason=reason, response_url=response_url), name="request")


async def _send_requests(client: AsyncWebClient, deps: Deps, *, team: str, requester: str,
                         asked: list[str], reason: str | None,
                         response_url: str | None) -> None:
    try:
        refused = await SlackPeople(client, team_id=team,
                                    cache=deps.people_cache).not_people(tuple(asked))
    except ValidationFailed:
        await deps.respond.post_to_response_url(response_url,
                                                render.notice(render.PEOPLE_UNCHECKED))
        return
    notices = deps.notices(client)
    failed = list(refused.values())
    for person in (u for u in asked if u not in refused):
        await notices.audit(events.secret_requested(at=deps.clock(), actor=requester,
                                                    team_id=team, asked=person))
        where = await notices.delivery.dm(person, render.request_message(requester=requester,
                                                                        reason=reason))
        if where is None:
            failed.append(f"<@{person}>")
            await notices.audit(events.secret_requested(
                at=deps.clock(), actor=requester, team_id=team, asked=person,
                delivered=False))
    if failed:
        await deps.respond.post_to_response_url(response_url,
                                                render.notice(render.requests_failed_notice(failed)))
