"""The Revoke button (on receipts, lists and status) and the Share it button (requests)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Deadline
from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps, as_dict, now_or_busy, user_of, workspace_of
from bot.handlers.home_tab import refresh_home
from bot.handlers.revoke import after_revoke, audit_revocation
from bot.handlers.share_form import open_share_form


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_revoke(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        deps.background.later(_revoke(client, deps, team=workspace_of(context),
                                      user=user_of(body),
                                      secret_id=str(action.get("value") or ""),
                                      block=str(action.get("block_id") or ""),
                                      response_url=body.get("response_url"),
                                      from_home=as_dict(body.get("view")).get("type")
                                      == "home"), name="revoke")

    async def on_answer_request(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        try:
            request = json.loads(action.get("value") or "{}")
        except json.JSONDecodeError:
            request = {}
        requester = request.get("to") if isinstance(request, dict) else None
        if not isinstance(requester, str):
            return
        reason = request.get("why") if isinstance(request.get("why"), str) else None
        form = open_share_form(client, deps, team=workspace_of(context),
                               trigger_id=body.get("trigger_id"), deadline=Deadline(),
                               response_url=body.get("response_url"),
                               initial_users=[requester], requested_by=requester,
                               request_reason=reason or None)
        await now_or_busy(deps, form, name="answer-request",
                          response_url=body.get("response_url"))
        await ack()

    app.action(render.REVOKE_ACTION)(on_revoke)
    app.action(render.ANSWER_REQUEST_ACTION)(on_answer_request)


async def _revoke(client: AsyncWebClient, deps: Deps, *, team: str, user: str, secret_id: str,
                  block: str, response_url: str | None, from_home: bool) -> None:
    try:
        revocation = await deps.lifecycle.revoke(team_id=team, user_id=user,
                                                 secret_id=secret_id)
    except StorageUnavailable:
        await deps.respond.tell(response_url, render.STORE_UNAVAILABLE)
        return
    if revocation.record is None:
        await deps.respond.tell(response_url, render.NOT_FOUND)
        return
    if revocation.revoked:
        await audit_revocation(client, deps, revocation, user=user)
    if block == "receipt":  # the receipt loses its button and says what happened
        await deps.respond.post_to_response_url(response_url, {
            **render.notice(render.revoked_notice(revocation.record, revocation.previous,
                                         revocation.in_flight)),
            "replace_original": True})
    else:  # a list or status: shown again, as it is now
        now = deps.clock()
        fresh = render.secret_status(revocation.record, now=now) if block == "status" else \
            render.secret_list(await deps.lifecycle.sent_by(team_id=team, user_id=user),
                               now=now)
        await deps.respond.post_to_response_url(response_url, {**fresh, "replace_original": True})
    if revocation.revoked:
        await after_revoke(client, deps, revocation, user=user, from_home=from_home)
    else:
        await refresh_home(client, deps, team=team, user=user, looking=from_home)

