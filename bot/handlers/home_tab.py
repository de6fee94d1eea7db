"""Publishing a person's Home tab (with the admin panel for admins): when they open it,
and after anything that changes what it lists (a share, a revoke) once they have."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.domain import is_slack_user
from bot.errors import CannotVerify, StorageUnavailable
from bot.handlers.deps import Deps, as_dict
from bot.slack.calls import SLACK_FAILURES, failure_reason


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


async def opened_home(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                      looked: bool = True, **state: Any) -> None:
    """A person opened their Home tab (or acted on it): noted (so that later changes keep
    it up to date: `refresh_home`), and published afresh."""
    if is_slack_user(user):
        with contextlib.suppress(StorageUnavailable):  # publish_home says Redis is down
            await deps.home_seen.note(team, user)
    await publish_home(client, deps, team=team, user=user, looked=looked, **state)


async def refresh_home(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                       looking: bool = False) -> None:
    """After a change to what a person's Home tab lists (their share, their revoke):
    republished if they have opened it (bot.storage.home_seen); if not, it is published
    afresh whenever they do. `looking`: the change came from their Home tab (a Revoke
    there), which they are looking at whatever the mark says (it may predate the mark)."""
    if not is_slack_user(user):
        return
    if looking:
        await opened_home(client, deps, team=team, user=user, looked=False)
        return
    try:
        if not await deps.home_seen.seen(team, user):
            return
    except StorageUnavailable:
        return  # published afresh when they next open it
    await publish_home(client, deps, team=team, user=user)


async def publish_home(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                       status: str | None = None, sender: str | None = None,
                       page: int = 0, looked: bool = False) -> None:
    """Render and publish a user's Home tab (with the admin panel for admins). `looked`:
    the person opened it or asked for a page (an admin's look is audited; a refresh after
    their own action is not). Nothing for a sender who is not a Slack user (an API
    token): it has no Home tab."""
    if not is_slack_user(user):
        return
    try:
        mine = await deps.lifecycle.sent_by(team_id=team, user_id=user)
        admin = policy = None
        try:
            is_admin = await deps.admins.is_admin(client, team_id=team, user_id=user)
        except CannotVerify:
            is_admin = False  # the panel waits for the next refresh
        if is_admin:
            records, has_next = await deps.lifecycle.browse(
                team_id=team, status=status, sender_id=sender, page=page)
            admin = render.AdminPage(records, status=status, sender_id=sender, page=page,
                                     has_next=has_next)
            if deps.external is not None and deps.external.available:
                policy = await deps.external.view(team)
            if looked:
                await deps.audit.record(events.admin_viewed(
                    at=deps.clock(), actor=user, team_id=team,
                    what=f"Home panel, page {page + 1}, status {status or 'all'}"
                         + (f", sender {sender}" if sender else "")))
        view = render.home_view(mine, now=deps.clock(), admin=admin, policy=policy)
    except StorageUnavailable:
        deps.logger.warning("could not render a Home tab: the secret store is unreachable")
        view = render.home_unavailable_view()
    try:
        await client.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not publish a Home tab: %s", failure_reason(exc))
