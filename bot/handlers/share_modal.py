"""The share form's submission: validate and store before answering, deliver after."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.background import Deadline, Lane
from bot.domain import SecretRecord, ShareForm
from bot.errors import (
    QuotaExceeded,
    RateLimited,
    ShareNotStored,
    StorageUnavailable,
    ValidationFailed,
)
from bot.handlers import submissions
from bot.handlers.deps import Deps, as_dict, rate_limited_event, user_of, workspace_of
from bot.handlers.home_tab import publish_home
from bot.recovery import recover
from bot.secrets.sharing import PRE_ANSWER_SECONDS
from bot.slack.people import SlackPeople


def parse_share_form(body: dict[str, Any], *, team_id: str) -> ShareForm:
    """Read the submitted form; missing or odd fields become None for validation to name."""
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))

    def field(block: str, action: str) -> dict[str, Any]:
        return as_dict(as_dict(values.get(block)).get(action))

    def string(block: str, action: str) -> str | None:
        value = field(block, action).get("value")
        return value if isinstance(value, str) else None

    def choice(block: str, action: str) -> str | None:
        option = field(block, action).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return value if isinstance(value, str) else None

    users = field(render.RECIPIENTS_BLOCK, render.RECIPIENTS_ACTION).get("selected_users")
    checked = field(render.NOTIFY_BLOCK, render.NOTIFY_ACTION).get("selected_options")
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (json.JSONDecodeError, TypeError):
        metadata = {}
    channel = metadata.get("ch") if isinstance(metadata, dict) else None
    return ShareForm(
        team_id=team_id,
        sender_id=user_of(body),
        recipients=tuple(dict.fromkeys(u for u in (users if isinstance(users, list) else [])
                                       if isinstance(u, str))),
        text=string(render.SECRET_BLOCK, render.SECRET_ACTION),
        expiry_seconds=choice(render.EXPIRY_BLOCK, render.EXPIRY_ACTION),
        custom_expiry=string(render.CUSTOM_EXPIRY_BLOCK, render.CUSTOM_EXPIRY_ACTION),
        view_mode=choice(render.VIEWS_BLOCK, render.VIEWS_ACTION),
        total_views=string(render.TOTAL_VIEWS_BLOCK, render.TOTAL_VIEWS_ACTION),
        format=choice(render.FORMAT_BLOCK, render.FORMAT_ACTION),
        label=string(render.LABEL_BLOCK, render.LABEL_ACTION),
        passphrase=string(render.PASSPHRASE_BLOCK, render.PASSPHRASE_ACTION),
        # A form without the checkbox block (an older form) keeps the default: notify.
        notify=(render.NOTIFY_BLOCK not in values) or any(
            isinstance(o, dict) and o.get("value") == render.NOTIFY_VALUE
            for o in (checked if isinstance(checked, list) else [])),
        origin_channel=channel if isinstance(channel, str) else None,
    )


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        received = Deadline()
        form = parse_share_form(body, team_id=workspace_of(context))
        view_id = str(as_dict(body.get("view")).get("id") or "")[:64]
        try:
            earlier = await submissions.claim_submission(
                deps, team=form.team_id, view_id=view_id) if view_id else None
        except StorageUnavailable:
            await ack(response_action="errors",
                      errors={render.SECRET_BLOCK: render.STORE_DOWN})
            return
        if earlier == submissions.SHARED:
            await ack()  # the same form, submitted again: it was shared; close it as then
            return
        if earlier == submissions.PENDING:
            await ack(response_action="errors", errors={render.SECRET_BLOCK: render.BUSY})
            return
        shared = False
        try:
            shared = await _share(ack, client, deps, form, received=received)
        finally:
            if view_id:
                await submissions.settle_submission_soon(deps, team=form.team_id,
                                                         view_id=view_id, shared=shared)

    app.view(render.SHARE_CALLBACK)(on_submit)


async def _share(ack: AsyncAck, client: AsyncWebClient, deps: Deps, form: ShareForm, *,
                 received: Deadline) -> bool:
    """Store the secret and answer the form; True when it was shared."""
    people = SlackPeople(client, team_id=form.team_id, cache=deps.people_cache)
    # Room to deliver it is reserved before anything is stored: when deliveries lag,
    # the sender is asked to retry rather than told "shared" with delivery far behind.
    slot = await deps.background.reserve(Lane.FOLLOW_UP)
    if slot is None:
        await ack(response_action="errors", errors={render.SECRET_BLOCK: render.BUSY})
        return False
    try:
        # What is left of the time before Slack must be answered.
        budget = max(0.1, PRE_ANSWER_SECONDS - received.elapsed())
        record = await deps.service.share(form, people=people, budget=budget)
    except ValidationFailed as exc:
        slot.release()
        await ack(response_action="errors", errors=exc.errors)
        return False
    except RateLimited as exc:
        slot.release()
        await ack(response_action="errors",
                  errors={render.SECRET_BLOCK: render.share_limited(exc)})
        await deps.audit.record(rate_limited_event(deps, exc, team=form.team_id,
                                                   user=form.sender_id))
        return False
    except QuotaExceeded as exc:
        slot.release()
        deps.metrics.quota_refused(exc.scope, exc.limit)
        await ack(response_action="errors",
                  errors={render.SECRET_BLOCK: render.share_over_quota(exc)})
        return False
    except StorageUnavailable as exc:
        slot.release()
        await ack(response_action="errors", errors={render.SECRET_BLOCK: render.STORE_DOWN})
        if isinstance(exc, ShareNotStored):
            # The sender was told nothing was shared: make sure of it.
            withdrawn = exc.record
            recover(deps.background, lambda: deps.service.withdraw(withdrawn), what="share",
                    logger=deps.logger)
        return False
    except BaseException:
        slot.release()
        raise
    # Audited at once (Redis), before any Slack call.
    created = events.secret_created(record)
    await deps.audit.record(created.event, nonce=created.nonce)
    slot.start(_deliver(client, record, deps), name="deliver-secret")
    await ack()
    return True


async def _deliver(client: AsyncWebClient, record: SecretRecord, deps: Deps) -> None:
    report = await deps.notices(client).announce(record)
    try:
        await deps.lifecycle.delivered(record, report.direct)
    except StorageUnavailable:
        # Still owed in Redis: the sweep sends it again (a duplicate Reveal message is
        # harmless; a missing one is not).
        deps.logger.warning("could not record a delivery; the sweep will repeat it")
    await publish_home(client, deps, team=record.team_id, user=record.sender_id)
