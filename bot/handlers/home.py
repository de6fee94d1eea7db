"""The App Home tab, the "Share a secret" entry points, and the admin panel on it."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Deadline
from bot.domain import AuditAction
from bot.errors import CannotVerify, StorageUnavailable
from bot.handlers.deps import Deps, as_dict, user_of, workspace_of
from bot.slack.calls import SLACK_FAILURES, failure_reason


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient,
                             context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        state = panel_state(as_dict(event.get("view")))
        deps.maybe_later(publish_home(client, deps, team=workspace_of(context),
                                      user=str(event.get("user") or ""), looked=True,
                                      **state), name="home")

    async def on_open_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = user_of(body)
        await deps.now_or_busy(
            deps.open_view(client, body.get("trigger_id"), render.share_modal(),
                           deadline=Deadline(), user=user),
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
        deps.maybe_later(publish_home(client, deps, team=workspace_of(context),
                                      user=user_of(body), looked=True, **state),
                         name="home-admin")

    app.event("app_home_opened")(on_home_opened)
    app.action(render.OPEN_FORM_ACTION)(on_open_form)
    app.shortcut(render.SHORTCUT_CALLBACK)(on_open_form)
    for action_id in (render.ADMIN_STATUS_ACTION, render.ADMIN_SENDER_ACTION,
                      render.ADMIN_PAGE_ACTION, render.ADMIN_CLEAR_ACTION):
        app.action(action_id)(on_admin_view)


def panel_state(view: dict[str, Any]) -> dict[str, Any]:
    """The admin panel's filters, kept in the Home view's private_metadata."""
    try:
        saved = as_dict(json.loads(view.get("private_metadata") or "{}"))
    except (json.JSONDecodeError, TypeError):
        saved = {}
    page = saved.get("page")
    status, sender = saved.get("status"), saved.get("sender")
    return {"status": status if status in ("active", "ended") else None,
            "sender": sender if isinstance(sender, str) else None,
            "page": page if isinstance(page, int) and 0 <= page < 1000 else 0}


async def publish_home(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                       status: str | None = None, sender: str | None = None,
                       page: int = 0, looked: bool = False) -> None:
    """Render and publish a user's Home tab (with the admin panel for admins). `looked`:
    the person opened it or asked for a page (an admin's look is audited; a refresh after
    their own action is not)."""
    if not user:
        return
    try:
        mine = await deps.lifecycle.sent_by(team_id=team, user_id=user)
        admin = None
        try:
            is_admin = await deps.admins.is_admin(client, team_id=team, user_id=user)
        except CannotVerify:
            is_admin = False  # the panel waits for the next refresh
        if is_admin:
            records, has_next = await deps.lifecycle.browse(
                team_id=team, status=status, sender_id=sender, page=page)
            admin = render.AdminPage(records, status=status, sender_id=sender, page=page,
                                     has_next=has_next)
            if looked:
                notices = deps.notices(client)
                await notices.audit(notices.event(
                    AuditAction.ADMIN_VIEWED, None, actor=user, team_id=team,
                    detail=f"Home panel, page {page + 1}, status {status or 'all'}"
                           + (f", sender {sender}" if sender else "")))
        view = render.home_view(mine, now=deps.clock(), admin=admin)
    except StorageUnavailable:
        deps.logger.warning("could not render a Home tab: the secret store is unreachable")
        view = render.home_unavailable_view()
    try:
        await client.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not publish a Home tab: %s", failure_reason(exc))

