"""The App Home tab, the "Share a secret" entry points, and the admin panel on it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Deadline
from bot.handlers.deps import Deps, as_dict, now_or_busy, user_of, workspace_of
from bot.handlers.home_tab import opened_home, panel_state, publish_home
from bot.handlers.share_form import open_share_form


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient,
                             context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        state = panel_state(as_dict(event.get("view")))
        deps.background.maybe_later(opened_home(client, deps, team=workspace_of(context),
                                                user=str(event.get("user") or ""), **state),
                                    name="home")

    async def on_open_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                           context: AsyncBoltContext) -> None:
        user = user_of(body)
        await now_or_busy(
            deps,
            open_share_form(client, deps, team=workspace_of(context),
                            trigger_id=body.get("trigger_id"), deadline=Deadline(), user=user),
            name="open-share-form", response_url=body.get("response_url"), client=client,
            user=user)
        await ack()

    async def on_admin_view(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        state = panel_state(as_dict(body.get("view")))
        kind = action.get("action_id")
        if kind == render.ADMIN_STATUS_ACTION:
            value = as_dict(action.get("selected_option")).get("value")
            state.update(status=value if value in ("active", "ended") else None, page=0)
        elif kind == render.ADMIN_SENDER_ACTION:
            user = action.get("selected_user")
            state.update(sender=user if isinstance(user, str) else None, page=0)
        elif kind == render.ADMIN_CLEAR_ACTION:
            state.update(status=None, sender=None, page=0)
        else:
            value = str(action.get("value") or "0")
            state["page"] = int(value) if value.isascii() and value.isdigit() \
                and len(value) < 4 else 0
        deps.background.maybe_later(publish_home(client, deps, team=workspace_of(context),
                                                 user=user_of(body), looked=True, **state),
                                    name="home-admin")

    app.event("app_home_opened")(on_home_opened)
    app.action(render.OPEN_FORM_ACTION)(on_open_form)
    app.shortcut(render.SHORTCUT_CALLBACK)(on_open_form)
    for action_id in (render.ADMIN_STATUS_ACTION, render.ADMIN_SENDER_ACTION,
                      render.ADMIN_PAGE_ACTION, render.ADMIN_CLEAR_ACTION):
        app.action(action_id)(on_admin_view)
