"""The share form's submission: validate and store before answering, deliver after."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Overloaded
from bot.delivery import Delivery
from bot.domain import AuditAction, AuditEvent, SecretRecord, ShareForm
from bot.errors import StorageUnavailable, ValidationFailed
from bot.handlers.deps import Deps, workspace_of
from bot.people import SlackPeople


def parse_share_form(body: dict[str, Any], *, team_id: str) -> ShareForm:
    """Read the submitted form; missing or odd fields become None for validation to name."""
    view = body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}

    def field(block: str, action: str) -> dict[str, Any]:
        found = (values.get(block) or {}).get(action)
        return found if isinstance(found, dict) else {}

    users = field(render.RECIPIENTS_BLOCK, render.RECIPIENTS_ACTION).get("selected_users")
    text = field(render.SECRET_BLOCK, render.SECRET_ACTION).get("value")
    option = field(render.EXPIRY_BLOCK, render.EXPIRY_ACTION).get("selected_option") or {}
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        metadata = {}
    channel = metadata.get("ch") if isinstance(metadata, dict) else None
    return ShareForm(
        team_id=team_id,
        sender_id=(body.get("user") or {}).get("id", ""),
        recipients=tuple(dict.fromkeys(u for u in (users or []) if isinstance(u, str))),
        text=text if isinstance(text, str) else None,
        expiry_seconds=option.get("value") if isinstance(option, dict) else None,
        origin_channel=channel if isinstance(channel, str) else None,
    )


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        form = parse_share_form(body, team_id=workspace_of(context))
        people = SlackPeople(client, team_id=form.team_id, cache=deps.people_cache)
        try:
            deps.background.check_capacity()
            record = await deps.service.share(form, people=people)
        except ValidationFailed as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        except (StorageUnavailable, Overloaded):
            await ack(response_action="errors",
                      errors={render.SECRET_BLOCK: render.STORE_DOWN})
            return
        deps.background.spawn(_deliver(client, record, deps), name="deliver-secret",
                              committed=True)
        await ack()

    app.view(render.SHARE_CALLBACK)(on_submit)


async def _deliver(client: AsyncWebClient, record: SecretRecord, deps: Deps) -> None:
    delivery = Delivery(client, logger=deps.logger)
    created = AuditEvent(
        AuditAction.SECRET_CREATED, at=record.created_at, actor=record.sender_id,
        team_id=record.team_id, code=record.code, secret_id=record.secret_id,
        recipients=record.recipients, channel=record.origin_channel,
        expires_at=record.expires_at)
    # The audit post goes first so that "created" precedes any "opened" in the channel.
    await deps.audit.record(created)
    report = await delivery.reveal_prompts(record)
    await delivery.sender_receipt(record, report)
