"""What every revoke does after the store has ended the secret, whichever surface asked
(the command, Home, a receipt's button, an admin): audit it at once, then tell people."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.audit import events
from bot.handlers.deps import Deps
from bot.handlers.home_tab import refresh_home
from bot.secrets.lifecycle import Revocation


async def audit_revocation(client: AsyncWebClient, deps: Deps, revocation: Revocation, *,
                           user: str, by_admin: bool = False) -> None:
    """Record a revoke in the audit log at once (before any Slack call)."""
    assert revocation.record is not None
    revoked = events.secret_revoked(revocation.record, at=deps.clock(), actor=user,
                                    by_admin=by_admin, in_flight=revocation.in_flight)
    await deps.audit.record(revoked.event, nonce=revoked.nonce)


async def after_revoke(client: AsyncWebClient, deps: Deps, revocation: Revocation, *,
                       user: str, from_home: bool = False) -> None:
    """Tell everyone concerned about a sender's revoke and refresh their Home tab
    (`from_home`: revoked there, so they are looking at it)."""
    assert revocation.record is not None
    await deps.notices(client).revoked(revocation.record, actor=user)
    await refresh_home(client, deps, team=revocation.record.team_id, user=user,
                       looking=from_home)


async def after_admin_revoke(client: AsyncWebClient, deps: Deps, revocation: Revocation, *,
                             admin: str) -> None:
    """Tell everyone concerned about an admin's revoke (the sender too)."""
    assert revocation.record is not None
    await deps.notices(client).revoked(revocation.record, actor=admin, by_admin=True)
