"""`/share-secret`: open the share form (with recipients picked from @mentions), or help."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Overloaded
from bot.handlers.deps import Deps
from bot.slack_calls import SLACK_FAILURES, failure_reason

COMMAND = "/share-secret"
# Escaped mentions as Slack sends them with should_escape: <@U123> or <@U123|name>.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")


def mentioned_users(text: str) -> list[str]:
    """User ids mentioned in a command's text, in order, without repeats."""
    return list(dict.fromkeys(_MENTION.findall(text)))


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_command(ack: AsyncAck, command: dict[str, Any],
                         client: AsyncWebClient) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in {"help", "?"}:
            await ack(**render.notice(render.HELP))
            return
        view = render.share_modal(initial_users=mentioned_users(text),
                                  origin_channel=command.get("channel_id"))
        try:
            deps.background.spawn(_open(client, command.get("trigger_id"), view, deps),
                                  name="open-share-form")
        except Overloaded:
            await ack(**render.notice(render.BUSY))
            return
        await ack()

    app.command(COMMAND)(on_command)


async def _open(client: AsyncWebClient, trigger_id: str | None, view: render.View,
                deps: Deps) -> None:
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not open the share form: %s", failure_reason(exc))
