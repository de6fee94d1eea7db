"""Choosing who can open a secret in the share form: the form is drawn again (views.update)
with the fields of that audience.

The click's payload carries everything typed so far, the secret included: only the chosen
option and the view's id, hash and private_metadata are read here. Slack keeps what was
typed in the inputs whose block and action ids stay the same.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import Audience
from bot.handlers.deps import Deps, as_dict
from bot.slack.calls import SLACK_FAILURES, failure_reason


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_audience(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                          client: AsyncWebClient) -> None:
        await ack()
        view = as_dict(body.get("view"))
        chosen = as_dict(action.get("selected_option")).get("value")
        try:
            audience = Audience(chosen)
        except ValueError:
            return
        view_id, view_hash = view.get("id"), view.get("hash")
        if not isinstance(view_id, str) or not view_id:
            return
        state = render.ShareFormState.from_metadata(view.get("private_metadata"))
        deps.background.later(_redraw(client, deps, view_id=view_id,
                                      view_hash=view_hash if isinstance(view_hash, str) else None,
                                      form=render.share_form(state, audience=audience)),
                              name="share-audience")

    app.action(render.AUDIENCE_ACTION)(on_audience)


async def _redraw(client: AsyncWebClient, deps: Deps, *, view_id: str, view_hash: str | None,
                  form: dict[str, Any]) -> None:
    # The hash makes an older redraw lose to a newer one (two quick changes of mind).
    try:
        await client.views_update(view_id=view_id, hash=view_hash, view=form)
    except SLACK_FAILURES as exc:
        deps.logger.info("could not redraw the share form: %s", failure_reason(exc))
