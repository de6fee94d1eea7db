"""The admin Revoke button on the Home tab's admin panel. (`/share-secret admin ...`
arrives through the command listener: bot.handlers.admin_commands.)

Admins revoke any secret of their workspace; anyone else is refused, and the attempt is
audited.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.domain import is_secret_id
from bot.errors import CannotVerify
from bot.handlers.deps import Deps, as_dict, user_of, workspace_of
from bot.handlers.home_tab import panel_state, publish_home
from bot.handlers.revoke import after_admin_revoke, audit_revocation


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_admin_revoke(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                              client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        team, user = workspace_of(context), user_of(body)
        deps.background.later(_admin_revoke(client, deps, team=team, user=user,
                                            secret_id=str(action.get("value") or ""),
                                            response_url=body.get("response_url"),
                                            state=panel_state(as_dict(body.get("view")))),
                              name="admin-revoke")

    app.action(render.ADMIN_REVOKE_ACTION)(on_admin_revoke)


async def _admin_revoke(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                        secret_id: str, response_url: str | None,
                        state: dict[str, Any] | None = None) -> None:
    try:
        allowed = await deps.admins.is_admin(client, team_id=team, user_id=user)
    except CannotVerify:
        await deps.respond.tell(response_url, render.CANNOT_VERIFY_ADMIN)
        return
    if not allowed:
        await deps.notices(client).audit(events.access_denied(
            at=deps.clock(), actor=user, team_id=team, why="admin revoke by a non-admin",
            secret_id=secret_id if is_secret_id(secret_id) else None))
        await deps.respond.tell(response_url, render.ADMIN_REFUSED)
        return
    revocation = await deps.lifecycle.revoke(team_id=team, user_id=user, secret_id=secret_id,
                                             as_admin=True)
    if revocation.revoked:
        await audit_revocation(client, deps, revocation, user=user, by_admin=True)
        await after_admin_revoke(client, deps, revocation, admin=user)
    await publish_home(client, deps, team=team, user=user, **(state or {}))
