"""The share form's submission: validate and store before answering, deliver after.

For people outside Slack (email, link) the answer turns the form into the link, shown
once; the sender's receipt names who it is for, and the link is mailed when asked for.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.background import Deadline, Lane
from bot.domain import Audience, SecretRecord, ShareForm
from bot.errors import (
    QuotaExceeded,
    RateLimited,
    ShareNotStored,
    ShareSecretError,
    StorageUnavailable,
    ValidationFailed,
)
from bot.handlers import submissions
from bot.handlers.deps import (
    Deps,
    LinksMailer,
    as_dict,
    rate_limited_event,
    user_of,
    workspace_of,
)
from bot.handlers.home_tab import refresh_home
from bot.recovery import recover
from bot.secrets.external import ExternalShare, link_url
from bot.secrets.followups import Followup
from bot.secrets.sharing import PRE_ANSWER_SECONDS
from bot.slack.names import UNKNOWN_PERSON, UNKNOWN_WORKSPACE
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

    def ticked(block: str, action: str, value: str) -> bool:
        # A form without the checkbox block (an older form) keeps the default: ticked.
        options = field(block, action).get("selected_options")
        return (block not in values) or any(
            isinstance(o, dict) and o.get("value") == value
            for o in (options if isinstance(options, list) else []))

    users = field(render.RECIPIENTS_BLOCK, render.RECIPIENTS_ACTION).get("selected_users")
    audience = choice(render.AUDIENCE_BLOCK, render.AUDIENCE_ACTION)
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
        notify=ticked(render.NOTIFY_BLOCK, render.NOTIFY_ACTION, render.NOTIFY_VALUE),
        origin_channel=render.ShareFormState.from_metadata(
            view.get("private_metadata")).origin_channel,
        # A form without the choice shares with people in the workspace, as before it.
        audience=Audience(audience) if audience in {a.value for a in Audience}
        else Audience.WORKSPACE,
        emails=string(render.EMAILS_BLOCK, render.EMAILS_ACTION),
        mail_link=ticked(render.MAIL_BLOCK, render.MAIL_ACTION, render.MAIL_VALUE),
    )


def placed(errors: dict[str, str], view: dict[str, Any]) -> dict[str, str]:
    """Validation errors by block id, each on a block the submitted form has (Slack
    refuses errors for blocks it does not show): the others go under the secret."""
    shown = {b.get("block_id") for b in view.get("blocks") or [] if isinstance(b, dict)}
    out: dict[str, str] = {}
    for block, message in errors.items():
        where = block if block in shown else render.SECRET_BLOCK
        out[where] = f"{out[where]} {message}" if where in out else message
    return out


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
            # The same form, submitted again: it was shared. Closed as then, but a link
            # (shown once, in the first answer) cannot be shown again.
            await (ack(response_action="update", view=render.LINK_ALREADY_SHOWN)
                   if form.audience.external else ack())
            return
        if earlier == submissions.PENDING:
            await ack(response_action="errors", errors={render.SECRET_BLOCK: render.BUSY})
            return
        shared = False
        try:
            shared = await _share(ack, client, deps, form, received=received,
                                  view=as_dict(body.get("view")))
        finally:
            if view_id:
                await submissions.settle_submission_soon(deps, team=form.team_id,
                                                         view_id=view_id, shared=shared)

    app.view(render.SHARE_CALLBACK)(on_submit)


async def _share(ack: AsyncAck, client: AsyncWebClient, deps: Deps, form: ShareForm, *,
                 received: Deadline, view: dict[str, Any]) -> bool:
    """Store the secret and answer the form; True when it was shared."""
    people = SlackPeople(client, team_id=form.team_id, cache=deps.people_cache)
    # Room to deliver it is reserved before anything is stored: when deliveries lag,
    # the sender is asked to retry rather than told "shared" with delivery far behind.
    slot = await deps.background.reserve(Lane.FOLLOW_UP)
    if slot is None:
        await ack(response_action="errors", errors={render.SECRET_BLOCK: render.BUSY})
        return False
    external: tuple[ExternalShare, str] | None = None  # the share and its link
    try:
        # What is left of the time before Slack must be answered.
        budget = max(0.1, PRE_ANSWER_SECONDS - received.elapsed())
        if form.audience.external:
            external = await _share_external(deps, form, budget=budget)
            record = external[0].record
        else:
            record = await deps.service.share(form, people=people, budget=budget)
    except ValidationFailed as exc:
        slot.release()
        await ack(response_action="errors", errors=placed(exc.errors, view))
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
    # Owed by the step that stored it (a crash cannot lose it): recorded just after the
    # answer, many shares' and reveals' in one round trip (bot.secrets.followups).
    created = events.secret_created(record)
    deps.followups.add(Followup(events=((created.event, created.nonce),)))
    if external is None:
        slot.start(_deliver(client, record, deps), name="deliver-secret")
        await ack()
        return True
    share, url = external
    mailer = deps.links_mailer if record.audience is Audience.EMAIL and form.mail_link \
        else None
    slot.start(_after_external(client, deps, share, mailer=mailer), name="external-receipt")
    # The link, once: in the form's answer, never in a message (chat history, unfurlers).
    await ack(response_action="update",
              view=render.link_modal(record, url=url, mailing=mailer is not None))
    return True


async def _share_external(deps: Deps, form: ShareForm, *,
                          budget: float) -> tuple[ExternalShare, str]:
    """Store a secret for people outside Slack, under the workspace's policy; the share
    and its link."""
    external = deps.external
    public_url = external.public_url if external is not None else None
    if external is None or public_url is None \
            or form.audience not in external.offered(enabled=True):
        # Chosen in a form this deployment no longer offers it in (PUBLIC_URL or mail unset).
        raise ValidationFailed({render.AUDIENCE_BLOCK: render.AUDIENCE_UNAVAILABLE})
    started = Deadline()
    policy = await external.policy_for(form.team_id)
    share = await deps.service.share_external(
        form, policy=policy, budget=max(0.1, budget - started.elapsed()))
    return share, link_url(public_url, share.record.secret_id, share.link_key)


async def _deliver(client: AsyncWebClient, record: SecretRecord, deps: Deps) -> None:
    report = await deps.notices(client).announce(record)
    try:
        await deps.lifecycle.delivered(record, report.direct)
    except StorageUnavailable:
        # Still owed in Redis: the sweep sends it again (a duplicate Reveal message is
        # harmless; a missing one is not).
        deps.logger.warning("could not record a delivery; the sweep will repeat it")
    await refresh_home(client, deps, team=record.team_id, user=record.sender_id)


async def _after_external(client: AsyncWebClient, deps: Deps, share: ExternalShare, *,
                          mailer: LinksMailer | None) -> None:
    """The sender's receipt (who it is for, never the link), the mail with the link to
    each address when asked for, and the Home tab."""
    record = share.record
    await _deliver(client, record, deps)  # nobody to send Reveal messages to: the receipt
    if mailer is None:
        return
    # Named as the web page names them.
    sender_name, workspace_name = (UNKNOWN_PERSON, UNKNOWN_WORKSPACE) if deps.names is None \
        else await deps.names.sender_and_workspace(record.team_id, record.sender_id)
    try:
        await mailer.send(share, sender_name=sender_name, workspace_name=workspace_name)
    except ShareSecretError as exc:
        deps.logger.warning("could not email the link of a secret: %s", type(exc).__name__)
        await deps.notices(client).delivery.to_sender(record,
                                                      render.link_not_mailed_notice(record))

