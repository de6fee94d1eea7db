"""`/share-secret admin list|revoke|audit|policy|api-token` and the workspace settings
verbs, once the command listener has read the text after "admin". Not a listener: the
command listener calls it.

Admins see and revoke any secret of their workspace (metadata only: nobody can see a
secret's content). Anyone else is refused, and the attempt is audited.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.audit.lookup import AuditQuery, newest_events
from bot.domain import normalize_share_code
from bot.errors import CannotVerify
from bot.handlers import api_tokens, policy, workspace_settings
from bot.handlers.deps import Deps
from bot.handlers.revoke import after_admin_revoke, audit_revocation
from bot.secrets.notices import Notices


async def command(ack: AsyncAck, client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                  text: str, mentioned: list[str], response_url: str | None = None,
                  trigger_id: object = None) -> None:
    """`/share-secret admin ...` (the text after "admin")."""
    notices = deps.notices(client)
    try:
        allowed = await deps.admins.is_admin(client, team_id=team, user_id=user)
    except CannotVerify:
        await ack(**render.notice(render.CANNOT_VERIFY_ADMIN))
        return
    if not allowed:
        await notices.audit(events.access_denied(at=deps.clock(), actor=user, team_id=team,
                                                 why="admin command by a non-admin"))
        await ack(**render.notice(render.ADMIN_REFUSED))
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
            await ack(**render.notice(render.NO_SUCH_CODE))
            return
        await ack(**render.notice(render.revoked_notice(revocation.record, revocation.previous,
                                                        revocation.in_flight)))
        if revocation.revoked:
            await audit_revocation(client, deps, revocation, user=user, by_admin=True)
            deps.background.later(after_admin_revoke(client, deps, revocation, admin=user),
                                  name="after-admin-revoke")
    elif verb == "audit":
        query = _audit_query(team, rest, mentioned)
        about = render.audit_about(code=query.code, actor=query.actor)
        found = await newest_events(deps.audit_stream, query)
        await ack(**render.admin_audit(found, about=about))
        await _viewed(deps, notices, user, team, f"audit {about}",
                      code=found[0].code if found and not mentioned else None)
    elif verb == "policy":
        await policy.command(ack, deps, team=team, user=user, rest=rest)
    elif verb == "api-token":
        await api_tokens.command(ack, client, deps, team=team, user=user, rest=rest,
                                 mentioned=mentioned, trigger_id=trigger_id,
                                 response_url=response_url)
    elif verb in workspace_settings.VERBS:
        await workspace_settings.command(ack, client, deps, team=team, user=user, verb=verb,
                                         rest=rest, mentioned=mentioned,
                                         response_url=response_url)
    else:
        await ack(**render.notice(render.ADMIN_USAGE if deps.team_settings is None
                                  else render.ADMIN_USAGE + "\n" + render.SETTINGS_USAGE))


def _audit_query(team: str, rest: str, mentioned: list[str]) -> AuditQuery:
    """`admin audit [CODE|@user]`: a person mentioned wins over a code."""
    if mentioned:
        return AuditQuery(team, actor=mentioned[0])
    code = normalize_share_code(rest) if rest.strip() else None
    return AuditQuery(team, code=code or None)


async def _viewed(deps: Deps, notices: Notices, user: str, team: str, detail: str,
                  code: str | None = None) -> None:
    await notices.audit(events.admin_viewed(at=deps.clock(), actor=user, team_id=team,
                                            code=code, what=detail))
