"""Reveal: show a secret privately to a recipient who has a view left; refuse anyone else.

Two ways in: the Reveal button (answered at once, the work done after the answer),
and for passphrase-protected secrets the unlock form, whose submission is answered
with the secret itself (`response_action: update`) or with an error in the form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Overloaded
from bot.domain import AuditAction, RevealOutcome
from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps, user_of, workspace_of
from bot.sharing import RevealResult
from bot.slack_calls import SLACK_FAILURES, failure_reason
from bot.storage import Claim


@dataclass(frozen=True)
class Click:
    """Who asked to reveal which secret, and how to answer them."""

    secret_id: str
    user_id: str
    team_id: str
    trigger_id: str
    response_url: str | None
    channel: str | None


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        click = _click(body, action, context)
        try:
            deps.background.spawn(_reveal(client, click, deps), name="reveal-secret")
        except Overloaded:
            deps.later(deps.post_to_response_url(click.response_url, render.notice(
                render.BUSY) | {"replace_original": False}), name="reveal-busy")

    async def on_locked_reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        click = _click(body, action, context)
        deps.later(_open(client, click, render.passphrase_modal(
            secret_id=click.secret_id, response_url=click.response_url), deps),
            name="ask-passphrase")

    async def on_unlock(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        await _unlock(ack, body, client, context, deps)

    app.action(render.REVEAL_ACTION)(on_reveal)
    app.action(render.REVEAL_LOCKED_ACTION)(on_locked_reveal)
    app.view(render.UNLOCK_CALLBACK)(on_unlock)


def _click(body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext) -> Click:
    value = action.get("value")
    channel = body.get("channel")
    return Click(secret_id=value if isinstance(value, str) else "", user_id=user_of(body),
                 team_id=workspace_of(context), trigger_id=str(body.get("trigger_id") or ""),
                 response_url=body.get("response_url") if isinstance(
                     body.get("response_url"), str) else None,
                 channel=channel.get("id") if isinstance(channel, dict) else None)


async def _reveal(client: AsyncWebClient, click: Click, deps: Deps) -> None:
    async def show(plaintext: str, claim: Claim) -> None:
        assert claim.sender_id is not None
        assert claim.code is not None
        await client.views_open(trigger_id=click.trigger_id, view=render.revealed_modal(
            plaintext, sender_id=claim.sender_id, code=claim.code, label=claim.label))

    try:
        result = await deps.service.reveal(secret_id=click.secret_id, user_id=click.user_id,
                                           team_id=click.team_id, show=show)
    except StorageUnavailable:
        await _open(client, click, render.store_down_modal(), deps)
        return
    except SLACK_FAILURES as exc:
        # The modal could not be opened (e.g. the trigger expired); the view was given back.
        deps.logger.warning("could not show a secret: %s", failure_reason(exc))
        await deps.post_to_response_url(click.response_url, render.reveal_retry_message())
        return
    if result.outcome is RevealOutcome.NEEDS_PASSPHRASE:
        await _open(client, click, render.passphrase_modal(
            secret_id=click.secret_id, response_url=click.response_url), deps)
        return
    view = _refusal_view(result)
    if view is not None:
        await _open(client, click, view, deps)
    await after_reveal(client, click, result, deps)


def _refusal_view(result: RevealResult) -> render.View | None:
    """The notice for a reveal that did not show the secret (None when it did)."""
    outcome = result.outcome
    if outcome in (RevealOutcome.NOT_RECIPIENT, RevealOutcome.WRONG_TEAM):
        return render.not_for_you_modal()
    if outcome is RevealOutcome.FAILED:
        return render.reveal_failed_modal(result.sender_id)
    if outcome is RevealOutcome.LOCKED:
        return render.locked_modal(result.locked_seconds)
    if outcome is RevealOutcome.UNAVAILABLE:
        return render.unavailable_modal()
    return None


async def after_reveal(client: AsyncWebClient, click: Click, result: RevealResult,
                       deps: Deps) -> None:
    """Audit a reveal attempt and tell whoever should know."""
    notices = deps.notices(client)

    async def audit(action: AuditAction, detail: str | None = None) -> None:
        await notices.audit(notices.event(action, None, actor=click.user_id,
                                          team_id=click.team_id, detail=detail,
                                          channel=click.channel, code=result.code,
                                          secret_id=click.secret_id))

    outcome = result.outcome
    if outcome is RevealOutcome.REVEALED:
        assert result.sender_id is not None
        assert result.code is not None
        await deps.post_to_response_url(click.response_url, render.revealed_message(
            sender_id=result.sender_id, code=result.code, label=result.label, at=deps.clock()))
        await audit(AuditAction.SECRET_OPENED)
        if result.last_view:
            await audit(AuditAction.SECRET_BURNED, "last view used; ciphertext deleted")
        if result.notify and result.sender_id != click.user_id:
            record = await deps.lifecycle.record(click.secret_id)
            await notices.delivery.dm(result.sender_id, render.viewed_receipt(
                viewer=click.user_id, label=result.label, code=result.code,
                used=result.views_used, allowed=record.views_allowed if record else None))
    elif outcome is RevealOutcome.NOT_RECIPIENT:
        await audit(AuditAction.ACCESS_DENIED, "not a recipient")
    elif outcome is RevealOutcome.WRONG_TEAM:
        await audit(AuditAction.ACCESS_DENIED, "from another workspace")
    elif outcome is RevealOutcome.FAILED:
        await audit(AuditAction.REVEAL_FAILED, "could not be decrypted; not used up")
    elif outcome is RevealOutcome.WRONG_PASSPHRASE:
        await audit(AuditAction.PASSPHRASE_FAILED, f"{result.tries_left} tries left")
    elif outcome is RevealOutcome.LOCKED and result.tries_left == 0:
        await audit(AuditAction.PASSPHRASE_LOCKED,
                    f"locked for {max(1, result.locked_seconds // 60)} minutes")


async def _open(client: AsyncWebClient, click: Click, view: render.View, deps: Deps) -> None:
    try:
        await client.views_open(trigger_id=click.trigger_id, view=view)
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not open a view: %s", failure_reason(exc))


async def _unlock(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                  context: AsyncBoltContext, deps: Deps) -> None:
    view = body.get("view") or {}
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (json.JSONDecodeError, TypeError):
        metadata = {}
    metadata = metadata if isinstance(metadata, dict) else {}
    values = ((view.get("state") or {}).get("values") or {})
    entered = ((values.get(render.UNLOCK_BLOCK) or {}).get(render.UNLOCK_ACTION) or {})
    passphrase = entered.get("value") if isinstance(entered, dict) else None
    click = Click(secret_id=str(metadata.get("id") or ""), user_id=user_of(body),
                  team_id=workspace_of(context), trigger_id="",
                  response_url=metadata.get("url") if isinstance(metadata.get("url"), str)
                  else None, channel=None)
    if not isinstance(passphrase, str) or not passphrase.strip():
        await ack(response_action="errors", errors={render.UNLOCK_BLOCK: "Type the passphrase."})
        return
    shown: list[render.View] = []

    async def show(plaintext: str, claim: Claim) -> None:
        assert claim.sender_id is not None
        assert claim.code is not None
        shown.append(render.revealed_modal(plaintext, sender_id=claim.sender_id,
                                           code=claim.code, label=claim.label))

    try:
        result = await deps.service.reveal(secret_id=click.secret_id, user_id=click.user_id,
                                           team_id=click.team_id, show=show,
                                           passphrase=passphrase)
    except StorageUnavailable:
        await ack(response_action="update", view=render.store_down_modal())
        return
    if result.outcome is RevealOutcome.WRONG_PASSPHRASE:
        await ack(response_action="errors", errors={
            render.UNLOCK_BLOCK: render.wrong_passphrase(result.tries_left or 0)})
    elif result.outcome is RevealOutcome.LOCKED:
        await ack(response_action="errors", errors={
            render.UNLOCK_BLOCK: render.locked(result.locked_seconds)})
    else:
        await ack(response_action="update",
                  view=shown[0] if shown else _refusal_view(result) or render.unavailable_modal())
    deps.later(after_reveal(client, click, result, deps), name="after-unlock")
