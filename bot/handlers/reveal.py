"""The Reveal button: show the secret once, privately, to a recipient; refuse anyone else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Overloaded
from bot.domain import AuditAction, AuditEvent, RevealOutcome
from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps, workspace_of
from bot.slack_calls import SLACK_FAILURES, failure_reason


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        click = _Click(
            secret_id=action.get("value") or "",
            user_id=(body.get("user") or {}).get("id", ""),
            team_id=workspace_of(context),
            trigger_id=body.get("trigger_id") or "",
            response_url=body.get("response_url"),
            channel=(body.get("channel") or {}).get("id"),
        )
        try:
            deps.background.spawn(_reveal(client, click, deps), name="reveal-secret")
        except Overloaded:
            deps.background.spawn(deps.post_to_response_url(click.response_url, {
                "response_type": "ephemeral", "replace_original": False,
                "text": render.BUSY}), name="reveal-busy", committed=True)

    app.action(render.REVEAL_ACTION)(on_reveal)


@dataclass(frozen=True)
class _Click:
    secret_id: str
    user_id: str
    team_id: str
    trigger_id: str
    response_url: str | None
    channel: str | None


async def _reveal(client: AsyncWebClient, click: _Click, deps: Deps) -> None:
    async def show(plaintext: str, sender_id: str, code: str) -> None:
        await client.views_open(trigger_id=click.trigger_id,
                                view=render.revealed_modal(plaintext, sender_id=sender_id,
                                                           code=code))

    try:
        result = await deps.service.reveal(secret_id=click.secret_id, user_id=click.user_id,
                                           team_id=click.team_id, show=show)
    except StorageUnavailable:
        await _modal(client, click, render.store_down_modal(), deps)
        return
    except SLACK_FAILURES as exc:
        # The modal could not be opened (e.g. the trigger expired); the view was given back.
        deps.logger.warning("could not show a secret: %s", failure_reason(exc))
        await deps.post_to_response_url(click.response_url, render.reveal_retry_message())
        return

    def event(action: AuditAction, detail: str | None = None) -> AuditEvent:
        return AuditEvent(action, at=deps.clock(), actor=click.user_id, team_id=click.team_id,
                          code=result.code, secret_id=click.secret_id, channel=click.channel,
                          detail=detail)

    outcome = result.outcome
    if outcome is RevealOutcome.REVEALED:
        assert result.sender_id is not None
        assert result.code is not None
        await deps.post_to_response_url(click.response_url, render.revealed_message(
            sender_id=result.sender_id, code=result.code, at=deps.clock()))
        await deps.audit.record(event(AuditAction.SECRET_OPENED,
                                      "last view, now destroyed" if result.last_view else None))
    elif outcome in (RevealOutcome.NOT_RECIPIENT, RevealOutcome.WRONG_TEAM):
        await _modal(client, click, render.not_for_you_modal(), deps)
        await deps.audit.record(event(AuditAction.ACCESS_DENIED,
                                      "not a recipient" if outcome is RevealOutcome.NOT_RECIPIENT
                                      else "from another workspace"))
    elif outcome is RevealOutcome.FAILED:
        await _modal(client, click, render.reveal_failed_modal(result.sender_id), deps)
        await deps.audit.record(event(AuditAction.REVEAL_FAILED, "could not be decrypted"))
    else:
        await _modal(client, click, render.unavailable_modal(), deps)


async def _modal(client: AsyncWebClient, click: _Click, view: render.View, deps: Deps) -> None:
    try:
        await client.views_open(trigger_id=click.trigger_id, view=view)
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not open a notice: %s", failure_reason(exc))
