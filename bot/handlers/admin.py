"""Administration: `/share-secret admin list|revoke|audit` and the admin Revoke button.

Admins see and revoke any secret of their workspace (metadata only: nobody can see a
secret's content). Anyone else is refused, and the attempt is audited.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import AuditAction, AuditEvent, is_secret_id
from bot.errors import CannotVerify
from bot.handlers import workspace_settings
from bot.handlers.deps import Deps, as_dict, user_of, workspace_of
from bot.handlers.home import panel_state, publish_home
from bot.handlers.revoke import audit_revocation
from bot.secrets.lifecycle import Revocation

USAGE = ("Admin commands: `/share-secret admin list [@user] [active|ended]`, "
         "`/share-secret admin revoke CODE`, `/share-secret admin audit [CODE|@user]`.")
REFUSED = ":no_entry: Only share-secret admins can do that."
CANNOT_VERIFY = ":warning: Couldn't check with Slack whether you are an admin. Please try again."
AUDIT_SHOWN = 20  # events `admin audit` lists, newest first


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_admin_revoke(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                              client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        team, user = workspace_of(context), user_of(body)
        deps.later(_admin_revoke(client, deps, team=team, user=user,
                                 secret_id=str(action.get("value") or ""),
                                 response_url=body.get("response_url"),
                                 state=panel_state(as_dict(body.get("view")))),
                   name="admin-revoke")

    app.action(render.ADMIN_REVOKE_ACTION)(on_admin_revoke)


async def command(ack: AsyncAck, client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                  text: str, mentioned: list[str], response_url: str | None = None) -> None:
    """`/share-secret admin ...` (the text after "admin")."""
    notices = deps.notices(client)
    try:
        allowed = await deps.admins.is_admin(client, team_id=team, user_id=user)
    except CannotVerify:
        await ack(**render.notice(CANNOT_VERIFY))
        return
    if not allowed:
        await notices.audit(AuditEvent(AuditAction.ACCESS_DENIED, at=deps.clock(),
                                       actor=user, team_id=team,
                                       detail="admin command by a non-admin"))
        await ack(**render.notice(REFUSED))
        return
    verb, _, rest = text.strip().partition(" ")
    verb = verb.lower()
    if verb == "list":
        words = {w.lower() for w in rest.split()}
        status = "active" if "active" in words else "ended" if "ended" in words else None
        sender = mentioned[0] if mentioned else None
        records, has_next = await deps.lifecycle.browse(team_id=team, status=status,
                                                        sender_id=sender)
        await ack(**render.admin_list(render.AdminPage(records, status=status,
                                                       sender_id=sender, has_next=has_next),
                                      now=deps.clock()))
        await _viewed(deps, notices, user, team, f"list, status {status or 'all'}")
    elif verb == "revoke":
        revocation = await deps.lifecycle.revoke(team_id=team, user_id=user, code=rest,
                                                 as_admin=True)
        if revocation.record is None:
            await ack(**render.notice("No secret in this workspace has that code."))
            return
        await ack(**render.notice(render.revoked_notice(revocation.record, revocation.previous,
                                                        revocation.in_flight)))
        if revocation.revoked:
            await audit_revocation(client, deps, revocation, user=user, by_admin=True)
            deps.later(_after_admin_revoke(client, deps, revocation, admin=user),
                       name="after-admin-revoke")
    elif verb == "audit":
        about, events = await _audit(deps, team, rest, mentioned)
        await ack(**render.admin_audit(events, about=about))
        await _viewed(deps, notices, user, team, f"audit {about}",
                      code=events[0].code if events and not mentioned else None)
    elif verb in workspace_settings.VERBS:
        await workspace_settings.command(ack, client, deps, team=team, user=user, verb=verb,
                                         rest=rest, mentioned=mentioned,
                                         response_url=response_url)
    else:
        await ack(**render.notice(USAGE if deps.team_settings is None
                                  else USAGE + "\n" + render.SETTINGS_USAGE))


async def _audit(deps: Deps, team: str, rest: str, mentioned: list[str]
                 ) -> tuple[str, list[AuditEvent]]:
    from bot.domain import normalize_share_code

    code = normalize_share_code(rest) if rest.strip() and not mentioned else None
    if mentioned:
        who = mentioned[0]
        return f"by <@{who}>", await deps.audit_stream.find(team, actor=who, count=AUDIT_SHOWN)
    if code:
        return f"for `{code}`", await deps.audit_stream.find(team, code=code,
                                                             count=AUDIT_SHOWN)
    return "in this workspace", await deps.audit_stream.find(team, count=AUDIT_SHOWN)


async def _viewed(deps: Deps, notices: Any, user: str, team: str, detail: str,
                  code: str | None = None) -> None:
    await notices.audit(AuditEvent(AuditAction.ADMIN_VIEWED, at=deps.clock(), actor=user,
                                   team_id=team, code=code, detail=detail))


async def _admin_revoke(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                        secret_id: str, response_url: str | None,
                        state: dict[str, Any] | None = None) -> None:
    try:
        allowed = await deps.admins.is_admin(client, team_id=team, user_id=user)
    except CannotVerify:
        await deps.post_to_response_url(response_url, {**render.notice(CANNOT_VERIFY),
                                                       "replace_original": False})
        return
    if not allowed:
        await deps.notices(client).audit(AuditEvent(
            AuditAction.ACCESS_DENIED, at=deps.clock(), actor=user, team_id=team,
            secret_id=secret_id if is_secret_id(secret_id) else None,
            detail="admin revoke by a non-admin"))
        await deps.post_to_response_url(response_url, {**render.notice(REFUSED),
                                                       "replace_original": False})
        return
    revocation = await deps.lifecycle.revoke(team_id=team, user_id=user, secret_id=secret_id,
                                             as_admin=True)
    if revocation.revoked:
        await audit_revocation(client, deps, revocation, user=user, by_admin=True)
        await _after_admin_revoke(client, deps, revocation, admin=user)
    await publish_home(client, deps, team=team, user=user, **(state or {}))


async def _after_admin_revoke(client: AsyncWebClient, deps: Deps, revocation: Revocation, *,
                              admin: str) -> None:
    assert revocation.record is not None
    await deps.notices(client).revoked(revocation.record, actor=admin, by_admin=True)
