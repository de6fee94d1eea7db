"""Reveal: show a secret privately to a recipient who has a view left; refuse anyone else.

Two ways in: the Reveal button, and for passphrase-protected secrets the unlock form.
Both are answered at once; the work (Redis, decryption, Slack) happens after. The
secret is shown in a modal opened (or updated) with a client that never retries: a
retried call could open a second modal with the same secret.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.background import Deadline
from bot.domain import RevealOutcome
from bot.errors import ClaimInDoubt, NotShown, StorageUnavailable
from bot.handlers.deps import (
    Deps,
    as_dict,
    now_or_busy,
    user_of,
    workspace_of,
)
from bot.recovery import recover
from bot.secrets.followups import Followup
from bot.secrets.reveal import RevealResult
from bot.slack.calls import SLACK_FAILURES, failure_reason, without_retries
from bot.storage import Claim

# Slack's answers that prove no modal was opened or changed.
_NOT_OPENED = {"invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id",
               "invalid_arguments", "view_too_large", "not_found", "ratelimited"}


@dataclass(frozen=True)
class Click:
    """Who asked to reveal which secret, and how to answer them."""

    secret_id: str
    user_id: str
    team_id: str
    trigger_id: str
    response_url: str | None
    channel: str | None
    view_id: str | None = None  # the unlock form, when the passphrase came from one
    deadline: Deadline = field(default_factory=Deadline)


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, context: AsyncBoltContext) -> None:
        click = _click(body, action, context)
        await now_or_busy(deps, _reveal(client, click, deps), name="reveal-secret",
                          response_url=click.response_url)
        await ack()

    async def on_locked_reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient, context: AsyncBoltContext) -> None:
        click = _click(body, action, context)
        await now_or_busy(deps, deps.respond.open_view(
            client, click.trigger_id, render.passphrase_modal(
                secret_id=click.secret_id, response_url=click.response_url),
            deadline=click.deadline, response_url=click.response_url),
            name="ask-passphrase", response_url=click.response_url)
        await ack()

    async def on_unlock(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        view = as_dict(body.get("view"))
        metadata = _metadata(view)
        values = as_dict(as_dict(view.get("state")).get("values"))
        entered = as_dict(as_dict(values.get(render.UNLOCK_BLOCK)).get(render.UNLOCK_ACTION))
        passphrase = entered.get("value")
        if not isinstance(passphrase, str) or not passphrase.strip():
            await ack(response_action="errors",
                      errors={render.UNLOCK_BLOCK: "Type the passphrase."})
            return
        url = metadata.get("url")
        click = Click(secret_id=str(metadata.get("id") or ""), user_id=user_of(body),
                      team_id=workspace_of(context), trigger_id="",
                      response_url=url if isinstance(url, str) else None, channel=None,
                      view_id=str(view.get("id") or "") or None)
        # Answer at once with a holding view; scrypt and Redis run after the answer, and
        # the view is updated with the secret (or the refusal) when it is ready.
        await ack(response_action="update", view=render.opening_modal())
        deps.background.later(_reveal(client, click, deps, passphrase=passphrase),
                              name="unlock-secret")

    app.action(render.REVEAL_ACTION)(on_reveal)
    app.action(render.REVEAL_LOCKED_ACTION)(on_locked_reveal)
    app.view(render.UNLOCK_CALLBACK)(on_unlock)


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        return as_dict(json.loads(view.get("private_metadata") or "{}"))
    except (json.JSONDecodeError, TypeError):
        return {}


def _click(body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext) -> Click:
    value, url = action.get("value"), body.get("response_url")
    return Click(secret_id=value if isinstance(value, str) else "", user_id=user_of(body),
                 team_id=workspace_of(context), trigger_id=str(body.get("trigger_id") or ""),
                 response_url=url if isinstance(url, str) else None,
                 channel=as_dict(body.get("channel")).get("id"))


async def _reveal(client: AsyncWebClient, click: Click, deps: Deps, *,
                  passphrase: str | None = None) -> None:
    if click.view_id is None and click.deadline.expired():
        # Waited too long for a turn: the trigger may die before a modal could open.
        # Nothing was claimed; the person can simply click again.
        await deps.respond.busy(click.response_url)
        return
    display = _display(without_retries(client), click)

    async def show(plaintext: str, claim: Claim) -> None:
        assert claim.sender_id is not None
        assert claim.code is not None
        await _certain(display(render.revealed_modal(
            plaintext, sender_id=claim.sender_id, code=claim.code, label=claim.label,
            mode=claim.mode, views_left=claim.views_left)))

    try:
        # A click's trigger id is marked in the rate limit's step: a replay does nothing.
        result = await deps.service.reveal(
            secret_id=click.secret_id, user_id=click.user_id, team_id=click.team_id,
            show=show, passphrase=passphrase, channel=click.channel,
            attempt=click.trigger_id if click.view_id is None and click.trigger_id else None)
    except StorageUnavailable as exc:
        await _quietly(display(render.store_down_modal()), deps)
        if isinstance(exc, ClaimInDoubt):
            # The person was told the secret is still there: make sure of it.
            doubt = exc
            recover(deps.background, lambda: deps.service.give_back(doubt), what="claim",
                    logger=deps.logger,
                    on_undone=lambda: _audit_given_back(click, deps, doubt.claimed_at))
        return
    except NotShown as exc:
        # Nothing was shown and the view was given back: the person can simply retry.
        deps.logger.warning("could not show a secret: %s", exc)
        if click.view_id is None:
            await deps.respond.post_to_response_url(click.response_url,
                                                    render.reveal_retry_message())
        return
    if result.outcome is RevealOutcome.REPEATED:
        deps.logger.warning("a replayed Reveal click was ignored")
        return
    await audit_reveal(click, result, deps)
    if result.outcome is RevealOutcome.NEEDS_PASSPHRASE:
        await _quietly(display(render.passphrase_modal(
            secret_id=click.secret_id, response_url=click.response_url)), deps)
        return
    if result.outcome is RevealOutcome.WRONG_PASSPHRASE:
        await _quietly(display(render.passphrase_modal(
            secret_id=click.secret_id, response_url=click.response_url,
            error=render.wrong_passphrase(result.tries_left or 0))), deps)
    elif result.outcome is not RevealOutcome.REVEALED:
        view = _refusal_view(result, unlocking=click.view_id is not None)
        if view is not None:
            await _quietly(display(view), deps)
    elif not result.recorded:
        deps.logger.error("a secret was shown but its view could not be recorded")
    elif result.uncertain:
        deps.logger.warning("Slack did not confirm that a secret was shown")
        deps.background.later(deps.respond.post_to_response_url(
            click.response_url, render.reveal_unconfirmed_message(result.sender_id)),
            name="reveal-unconfirmed")
    # The rest (message update, receipt) can wait: it frees the trigger-bound lane.
    deps.background.later(after_reveal(client, click, result, deps), name="after-reveal")


async def _audit_given_back(click: Click, deps: Deps, claimed_at: float) -> None:
    record = await deps.lifecycle.record(click.secret_id)
    given_back = events.claim_given_back(
        record, secret_id=click.secret_id, user_id=click.user_id, team_id=click.team_id,
        channel=click.channel, claimed_at=claimed_at, at=deps.clock())
    await deps.audit.record(given_back.event, nonce=given_back.nonce)


def _display(client: AsyncWebClient, click: Click) -> Callable[[render.View],
                                                                Awaitable[Any]]:
    """Opens a modal for a click, or replaces the unlock form the passphrase came from."""
    if click.view_id:
        return lambda view: client.views_update(view_id=click.view_id, view=view)
    return lambda view: client.views_open(trigger_id=click.trigger_id, view=view)


async def _certain(call: Awaitable[Any]) -> None:
    """Run a Slack call that shows a secret; raise NotShown only when Slack's answer
    proves nothing was shown (any other failure propagates as it is)."""
    try:
        await call
    except SlackApiError as exc:
        if exc.response.status_code == 429 or exc.response.get("error") in _NOT_OPENED:
            raise NotShown(failure_reason(exc)) from None
        raise
    except aiohttp.ClientConnectorError:
        raise NotShown("could not connect to Slack") from None


async def _quietly(call: Awaitable[Any], deps: Deps) -> None:
    try:
        await call
    except SLACK_FAILURES as exc:
        deps.logger.warning("could not show a notice: %s", failure_reason(exc))


def _refusal_view(result: RevealResult, *, unlocking: bool) -> render.View | None:
    """The notice for a reveal that did not show the secret (None: say nothing).
    `unlocking`: it replaces an unlock form (which says "Checking…" until answered)."""
    outcome = result.outcome
    if outcome is RevealOutcome.NOT_RECIPIENT:
        return render.not_for_you_modal()
    if outcome is RevealOutcome.FAILED:
        return render.reveal_failed_modal(result.sender_id)
    if outcome is RevealOutcome.LOCKED:
        return render.locked_modal(result.locked_seconds)
    if outcome is RevealOutcome.GUESSES_PENDING:
        return render.guesses_pending_modal()
    if outcome is RevealOutcome.RATE_LIMITED and result.limited is not None:
        return render.reveal_limited_modal(result.limited)
    if outcome in (RevealOutcome.UNAVAILABLE, RevealOutcome.WRONG_TEAM,
                   RevealOutcome.TAMPERED):
        # Another workspace's secret, or one whose metadata was changed in Redis, reads
        # exactly as one that does not exist.
        return render.unavailable_modal()
    if outcome is RevealOutcome.IN_FLIGHT and unlocking:
        # Another of the person's unlock forms is being answered: this one must not be
        # left on "Checking…".
        return render.opening_elsewhere_modal()
    return None  # IN_FLIGHT: a double click; the first click is showing it


async def audit_reveal(click: Click, result: RevealResult, deps: Deps) -> None:
    """Record what a reveal attempt did. A refusal's event is recorded now, before any
    Slack call. A shown secret's events were owed by the step that confirmed its view (a
    crash cannot lose them): they are recorded after it, many reveals' in one round trip,
    and a burned secret leaves the expiry index and gives its quota room back with them
    (bot.secrets.followups)."""
    deps.metrics.count_refusal(result.outcome)
    owed = events.reveal_attempt(
        result, secret_id=click.secret_id, user_id=click.user_id, team_id=click.team_id,
        channel=click.channel, at=deps.clock())
    if result.outcome is not RevealOutcome.REVEALED:
        if owed:  # some refusals (a passphrase asked for, a double click) owe none
            await deps.audit.record_all(owed)
        return
    if not result.confirmed:
        # Confirmed by an earlier try whose answer was lost, or left to the sweep: the
        # events are owed where the view was settled and recorded from there, once.
        deps.logger.warning("a reveal's audit events are left to the sweep")
    assert result.sender_id is not None
    deps.followups.add(Followup(events=tuple(owed), burned=(
        click.secret_id, click.team_id, result.sender_id) if result.last_view else None))


async def after_reveal(client: AsyncWebClient, click: Click, result: RevealResult,
                       deps: Deps) -> None:
    """Tell whoever should know about a reveal (the recipient's message, the receipt)."""
    if result.outcome is not RevealOutcome.REVEALED:
        return
    assert result.sender_id is not None
    assert result.code is not None
    await deps.respond.post_to_response_url(click.response_url, render.revealed_message(
        sender_id=result.sender_id, code=result.code, label=result.label, at=deps.clock(),
        reveal_again=_again(click, result)))
    if result.notify and result.sender_id != click.user_id:
        await deps.notices(client).delivery.to_sender(result, render.viewed_receipt(
            viewer=click.user_id, label=result.label, code=result.code,
            used=result.views_used, allowed=result.views_allowed))


def _again(click: Click, result: RevealResult) -> tuple[str, str] | None:
    """The (action id, secret id) of a Reveal button to keep, when views are left."""
    if not result.can_view_again:
        return None
    action = render.REVEAL_LOCKED_ACTION if result.has_passphrase else render.REVEAL_ACTION
    return action, click.secret_id

