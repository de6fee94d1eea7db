"""The admin panel's "Edit policy" button and its form: a workspace's external sharing
policy, changed by its admins (anyone else is refused, and the attempt audited)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.background import Deadline
from bot.errors import CannotVerify, StorageUnavailable
from bot.handlers.deps import Deps, as_dict, now_or_busy, user_of, workspace_of
from bot.handlers.home_tab import publish_home
from bot.handlers.policy import change_policy
from bot.storage.team_settings import NO_CAP, PolicyOverrides
from bot.workspaces.policy import PolicyProblem, parse_domains, parse_max_expiry


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        user = user_of(body)
        await now_or_busy(deps, _open(client, deps, team=workspace_of(context), user=user,
                                      trigger_id=body.get("trigger_id"), deadline=Deadline()),
                          name="open-policy-form", response_url=None, client=client, user=user)
        await ack()

    async def on_save(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        team, user = workspace_of(context), user_of(body)
        external = deps.external
        wanted = read_policy_form(as_dict(body.get("view")))
        if isinstance(wanted, dict):
            await ack(response_action="errors", errors=render.policy_form_errors(wanted))
            return
        try:
            if external is None or not external.available:
                await ack(response_action="errors",
                          errors={render.POLICY_ENABLED_BLOCK: render.POLICY_UNAVAILABLE})
                return
            if not await _admin(client, deps, team=team, user=user, what="policy change"):
                await ack(response_action="errors",
                          errors={render.POLICY_ENABLED_BLOCK: render.ADMIN_REFUSED})
                return
            view, _ = await change_policy(deps, external, team=team, user=user,
                                          wanted=wanted)
        except CannotVerify:
            await ack(response_action="errors",
                      errors={render.POLICY_ENABLED_BLOCK: render.CANNOT_VERIFY_ADMIN})
            return
        except StorageUnavailable:
            await ack(response_action="errors",
                      errors={render.POLICY_ENABLED_BLOCK: render.STORE_UNAVAILABLE})
            return
        if view is None:
            await ack(response_action="errors",
                      errors={render.POLICY_ENABLED_BLOCK: render.POLICY_GONE})
            return
        await ack()
        deps.background.maybe_later(publish_home(client, deps, team=team, user=user),
                                    name="home-policy")

    app.action(render.POLICY_EDIT_ACTION)(on_edit)
    app.view(render.POLICY_CALLBACK)(on_save)


def read_policy_form(view: dict[str, Any]) -> PolicyOverrides | dict[str, PolicyProblem]:
    """The policy the form asks for, or the problem with each field that is not one."""
    values = as_dict(as_dict(view.get("state")).get("values"))

    def state(block: str, action: str) -> dict[str, Any]:
        return as_dict(as_dict(values.get(block)).get(action))

    def ticked(block: str, action: str) -> bool:
        chosen = state(block, action).get("selected_options")
        return any(isinstance(o, dict) and o.get("value") == render.POLICY_ON
                   for o in (chosen if isinstance(chosen, list) else []))

    def typed(block: str, action: str) -> str:
        value = state(block, action).get("value")
        return value.strip() if isinstance(value, str) else ""

    problems: dict[str, PolicyProblem] = {}
    domains = parse_domains(typed(render.POLICY_DOMAINS_BLOCK, render.POLICY_DOMAINS_ACTION))
    if domains is None:
        problems[render.POLICY_DOMAINS_BLOCK] = PolicyProblem.DOMAINS
    expiry_text = typed(render.POLICY_EXPIRY_BLOCK, render.POLICY_EXPIRY_ACTION)
    expiry = parse_max_expiry(expiry_text) if expiry_text else NO_CAP
    if expiry is None:
        problems[render.POLICY_EXPIRY_BLOCK] = PolicyProblem.EXPIRY
    if problems:
        return problems
    return PolicyOverrides(
        enabled=ticked(render.POLICY_ENABLED_BLOCK, render.POLICY_ENABLED_ACTION),
        allowed_domains=domains,
        link_needs_passphrase=ticked(render.POLICY_PASSPHRASE_BLOCK,
                                     render.POLICY_PASSPHRASE_ACTION),
        max_expiry_seconds=expiry)


async def _admin(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                 what: str) -> bool:
    """Whether `user` is an admin; a refusal is audited. Raises CannotVerify."""
    if await deps.admins.is_admin(client, team_id=team, user_id=user):
        return True
    await deps.audit.record(events.access_denied(at=deps.clock(), actor=user, team_id=team,
                                                 why=f"{what} by a non-admin"))
    return False


async def _open(client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                trigger_id: object, deadline: Deadline) -> None:
    external = deps.external
    tell = deps.notices(client).delivery.dm  # the Home tab has no response_url
    try:
        if not await _admin(client, deps, team=team, user=user, what="policy form"):
            await tell(user, render.notice(render.ADMIN_REFUSED))
            return
        if external is None or not external.available:
            await tell(user, render.notice(render.POLICY_UNAVAILABLE))
            return
        policy = (await external.view(team)).policy
    except CannotVerify:
        await tell(user, render.notice(render.CANNOT_VERIFY_ADMIN))
        return
    except StorageUnavailable:
        await tell(user, render.notice(render.STORE_UNAVAILABLE))
        return
    await deps.respond.open_view(client, trigger_id, render.policy_modal(policy),
                                 deadline=deadline, user=user)
