"""The Retry button on a sender's receipt: send the Reveal message again to the people
it could not reach."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import Status, is_slack_user
from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps, user_of, workspace_of


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                       client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        url = body.get("response_url")
        deps.background.later(_redeliver(client, deps, team=workspace_of(context),
                                         user=user_of(body),
                                         value=str(action.get("value") or ""),
                                         response_url=url if isinstance(url, str) else None),
                              name="redeliver")

    app.action(render.RETRY_DELIVERY_ACTION)(on_retry)


async def _redeliver(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                     value: str, response_url: str | None) -> None:
    secret_id, named = render.parse_retry_value(value)
    try:
        record = await deps.lifecycle.find(team_id=team, user_id=user, secret_id=secret_id)
    except StorageUnavailable:
        await deps.respond.tell(response_url, render.STORE_UNAVAILABLE)
        return
    if record is None or record.tampered:  # a changed record reads as a missing one
        await deps.respond.tell(response_url, render.NOT_FOUND)
        return
    if record.status is not Status.ACTIVE:
        await deps.respond.tell(response_url, render.RETRY_ENDED)
        return
    # Only the secret's own recipients: the button's value came back from a client.
    users = [u for u in named if u in record.recipients and is_slack_user(u)]
    notices = deps.notices(client)
    report = await notices.delivery.reveal_prompts(record, only=users)
    if report.direct:
        try:
            await deps.service.note_dms(record.secret_id, report.direct)
        except StorageUnavailable:
            deps.logger.warning("could not note where re-sent Reveal messages are")
    # The receipt is replaced: who has it now, and Retry again for whoever still has not.
    await deps.respond.post_to_response_url(response_url, {
        **render.sender_confirmation(record, failed=report.failed), "replace_original": True})

