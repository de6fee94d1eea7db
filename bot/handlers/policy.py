"""A workspace's external sharing policy, read and changed by its admins:
`/share-secret admin policy ...` (through admin_commands) and the admin panel's form
(policy_panel). Not a listener; callers have checked that the person is an admin.

Every change is audited, naming what it set.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck

from bot import render
from bot.audit import events
from bot.handlers.deps import Deps
from bot.storage.team_settings import PolicyOverrides
from bot.workspaces.policy import (
    ExternalSharing,
    PolicyProblem,
    PolicyView,
    changes,
    parse_change,
)


async def command(ack: AsyncAck, deps: Deps, *, team: str, user: str, rest: str) -> None:
    """`admin policy` (show it) or `admin policy SETTING VALUE` (change one part)."""
    external = deps.external
    if external is None or not external.available:
        await ack(**render.notice(render.POLICY_UNAVAILABLE))
        return
    if not rest.strip():
        await ack(**render.notice(render.policy_summary(await external.view(team))))
        return
    wanted = parse_change(rest)
    if isinstance(wanted, PolicyProblem):
        await ack(**render.notice(render.policy_problem(wanted)))
        return
    view, applied = await change_policy(deps, external, team=team, user=user, wanted=wanted)
    if view is None:
        await ack(**render.notice(render.POLICY_GONE))
    elif not applied.fields():
        await ack(**render.notice(render.POLICY_UNCHANGED))
    else:
        await ack(**render.notice(render.policy_changed_notice(view)))


async def change_policy(deps: Deps, external: ExternalSharing, *, team: str, user: str,
                        wanted: PolicyOverrides) -> tuple[PolicyView | None, PolicyOverrides]:
    """Store what of `wanted` differs from the policy now, and audit it. Returns the
    policy then (None: the workspace's settings are gone, nothing stored) and what
    changed. Raises StorageUnavailable."""
    current = await external.view(team)
    applied = changes(current.policy, wanted)
    if not applied.fields():
        return current, applied
    view = await external.change(team, applied)
    if view is not None:
        await deps.audit.record(events.policy_changed(applied, at=deps.clock(), actor=user,
                                                      team_id=team))
    return view, applied
