"""What senders see: receipts, lists, status, notices, and requests for secrets."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain import (
    MAX_RECIPIENTS,
    Audience,
    EndOutcome,
    SecretRecord,
    Status,
    ViewState,
    api_token_name,
)
from bot.render import ids
from bot.render.audience import audience_text
from bot.render.blocks import (
    Block,
    Message,
    button,
    context,
    escape,
    in_words,
    mentions,
    notice,
    quoted_name,
    section,
    slack_date,
    who,
)

# Answered when a command, a button or a retry cannot reach Redis.
STORE_UNAVAILABLE = ("Share-secret can't reach its storage right now. Please try again in a "
                     "minute.")
HELP = (
    "*Share a secret* (a password, API key, credentials) so it never sits in chat history.\n"
    "• `/share-secret` opens a form; `/share-secret @alice @bob` picks the recipients.\n"
    "• Each recipient gets a *Reveal* button and sees the secret privately; once the views "
    "you allowed are used, or it expires, it is destroyed.\n"
    "• `/share-secret list` shows what you shared; `/share-secret status CODE` one of them.\n"
    "• `/share-secret revoke CODE` destroys a secret at once.\n"
    "• `/share-secret request @alice what for` asks Alice to share a secret with you.\n"
    "• The app's *Home* tab lists your secrets; the shortcut *Share a secret* works anywhere. "
    "Admins: `/share-secret admin list|revoke|audit|policy`."
)
BUSY = "Share-secret is very busy right now. Please try again in a few seconds."
STORE_DOWN = "Couldn't save your secret, nothing was shared. Please try again in a minute."
NOT_FOUND = "None of your secrets has that code. `/share-secret list` shows them."
STATUS_PEOPLE = 20  # recipients listed one by one in `status`; the rest are counted
REASON_CHARS = 150
MAX_BUTTON_VALUE = 2000
REQUEST_USAGE = ("Mention who should share the secret: "
                 "`/share-secret request @alice staging DB password`")
PEOPLE_UNCHECKED = (":warning: Couldn't check those people with Slack just now; nobody was "
                    "asked.")
RETRY_ENDED = ("That secret is no longer active (viewed, expired or revoked), so it was not "
               "sent again.")

_STATUS_WORDS = {Status.ACTIVE: ":large_green_circle: active", Status.BURNED: ":fire: burned",
                 Status.EXPIRED: ":hourglass: expired", Status.REVOKED: ":no_entry_sign: revoked"}


def revoke_button(record: SecretRecord, *,
                  action_id: str = ids.REVOKE_ACTION) -> dict[str, object]:
    return button("Revoke", action_id=action_id, value=record.secret_id,
                  style="danger", confirm={
                      "title": {"type": "plain_text", "text": "Revoke this secret?"},
                      "text": {"type": "mrkdwn",
                               "text": "Nobody will be able to reveal it any more."},
                      "confirm": {"type": "plain_text", "text": "Revoke"},
                      "deny": {"type": "plain_text", "text": "Keep it"}})


def views_summary(record: SecretRecord) -> str:
    allowed = record.views_allowed
    return f"{record.views_used} of {allowed} views" if allowed is not None else \
        f"{record.views_used} views (unlimited)"


def sender_confirmation(record: SecretRecord, *, failed: Sequence[str] = ()) -> Message:
    """The sender's private receipt: to whom, until when, the share code, and Revoke."""
    reached = [u for u in record.recipients if u not in failed]
    named = f" *{escape(record.label)}*" if record.label else ""
    if record.audience.external:
        # Who it is for, never the link: the sender saw it once, in the form.
        shown = (" (its link was in the API's answer, once)"
                 if api_token_name(record.sender_id) else " (shown to you once, in the form)")
        how = (": they open its link with a code sent to their address"
               if record.audience is Audience.EMAIL else shown)
        lines = [f":white_check_mark: Your secret{named} is ready for "
                 f"{audience_text(record.recipients)}{how}."]
    else:
        lines = [f":white_check_mark: Your secret{named} was shared with {mentions(reached)}."
                 if reached
                 else ":x: Your secret could not be delivered to anyone."]
    if failed:
        lines.append(f":warning: Couldn't reach {mentions(failed)}; they did not get it. "
                     "*Retry* sends it to them again; *Revoke* destroys it.")
    limit = record.view_limit.describe(len(record.recipients))
    lines.append(f"It expires {slack_date(record.expires_at)}; {limit}. "
                 f"Share code: `{record.code}`")
    if record.has_passphrase:
        lines.append(":key: Send the passphrase to them another way (phone, another app), "
                     "never in Slack.")
    body = "\n".join(lines)
    buttons = [revoke_button(record)]
    if failed:
        buttons.insert(0, button("Retry", action_id=ids.RETRY_DELIVERY_ACTION,
                                 value=retry_value(record.secret_id, failed)))
    return {"text": body, "blocks": [
        section(body), {"type": "actions", "block_id": "receipt", "elements": buttons}]}


def retry_value(secret_id: str, users: Sequence[str]) -> str:
    """The Retry button's value: the secret and who to send it to again (within a
    button value's 2000 characters; the people left out stay on the next receipt)."""
    value = secret_id
    for user in users:
        if len(value) + 1 + len(user) > MAX_BUTTON_VALUE:
            break
        value += ("|" if value == secret_id else ",") + user
    return value


def parse_retry_value(value: str) -> tuple[str, tuple[str, ...]]:
    """(secret id, user ids) from a Retry button's value (untrusted: checked by caller)."""
    secret_id, _, users = value.partition("|")
    return secret_id, tuple(u for u in users.split(",") if u)[:MAX_RECIPIENTS]


def status_line(record: SecretRecord, now: float) -> str:
    who = audience_text(record.recipients, limit=5)
    if record.status is Status.ACTIVE:
        when = f"expires in {in_words(record.expires_at - now)}"
    else:
        when = f"ended {slack_date(record.ended_at or record.expires_at)}"
    return (f"{quoted_name(record.label, record.code)} to {who} · "
            f"{_STATUS_WORDS[record.status]} · {views_summary(record)} · {when}")


def secret_list(records: Sequence[SecretRecord], *, now: float) -> Message:
    """`/share-secret list`: active secrets first, then recently ended ones."""
    if not records:
        return notice("You have no secrets shared in the last 30 days. `/share-secret` "
                      "shares one.")
    ordered = sorted(records, key=lambda r: (r.status is not Status.ACTIVE, -r.created_at))
    blocks: list[Block] = [section("*Your secrets*")]
    for record in ordered[:20]:
        line = section(status_line(record, now))
        if record.status is Status.ACTIVE:
            line["accessory"] = revoke_button(record)
        blocks.append(line)
    if len(ordered) > 20:
        blocks.append(context(f"{len(ordered) - 20} older secrets are not shown."))
    return {"response_type": "ephemeral", "text": "Your secrets", "blocks": blocks}


def secret_status(record: SecretRecord, *, now: float) -> Message:
    """`/share-secret status CODE`: one secret, who viewed it and when."""
    lines = [status_line(record, now), f"Shared {slack_date(record.created_at)}"]
    for user in record.recipients[:STATUS_PEOPLE]:
        state = record.views.get(user, ViewState.PENDING)
        seen = record.viewed_at.get(user)
        lines.append(f"• {who(user)}: " + (f"viewed {slack_date(seen)}" if seen
                                         else "viewing now" if state is ViewState.CLAIMED
                                         else "not viewed"))
    if len(record.recipients) > STATUS_PEOPLE:
        seen = sum(1 for u in record.recipients[STATUS_PEOPLE:] if u in record.viewed_at)
        lines.append(f"… and {len(record.recipients) - STATUS_PEOPLE} more, {seen} of whom "
                     "viewed it.")
    if record.status is Status.REVOKED and record.ended_by:
        lines.append(f"Revoked by <@{record.ended_by}>.")
    blocks: list[Block] = [section("\n".join(lines))]
    if record.status is Status.ACTIVE:
        blocks.append({"type": "actions", "block_id": "status",
                       "elements": [revoke_button(record)]})
    return {"response_type": "ephemeral", "text": f"Secret {record.code}", "blocks": blocks}


def revoked_notice(record: SecretRecord, previous: EndOutcome, in_flight: int = 0) -> str:
    name = quoted_name(record.label, record.code)
    if previous is EndOutcome.ENDED and in_flight:
        return (f":no_entry_sign: Revoked {name}. Nobody can reveal it any more, but "
                f"{'someone was' if in_flight == 1 else f'{in_flight} people were'} opening "
                "it at that moment and may have seen it.")
    if previous is EndOutcome.ENDED:
        return f":no_entry_sign: Revoked {name}. Nobody can reveal it any more."
    return f"{name} had already ended ({previous.value}); there was nothing to revoke."


def for_sender_elsewhere(message: Message, *, sender: str) -> Message:
    """A sender's notice as it reaches the channel or person named for a sender who is not
    a Slack user (an API token): it says whose secret it is about, and loses its buttons
    (Revoke and Retry work for the sender alone)."""
    whose = f"For {who(sender)}"
    blocks = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
    return {**message, "text": f"{whose}: {message.get('text', '')}",
            "blocks": [context(whose), *blocks]}


def viewed_receipt(*, viewer: str, label: str | None, code: str, used: int,
                   allowed: int | None) -> Message:
    """The sender's DM when someone reveals their secret."""
    count = f" ({used} of {allowed} views)" if allowed is not None else f" ({used} views)"
    body = f":eyes: <@{viewer}> viewed {quoted_name(label, code)}{count}."
    return {"text": body, "blocks": [section(body)]}


def expired_notice(record: SecretRecord) -> Message:
    unread = [u for u in record.recipients if u not in record.viewed_at]
    if len(unread) == len(record.recipients):
        how = "unread"
    else:
        how = f"without being viewed by {audience_text(unread)}" if unread \
            else "after it was viewed"
    body = f":hourglass: Your secret {quoted_name(record.label, record.code)} expired {how}."
    return {"text": body, "blocks": [section(body)]}


def reminder_notice(record: SecretRecord, *, now: float) -> Message:
    body = (f":alarm_clock: Your secret {quoted_name(record.label, record.code)} for "
            f"{audience_text(record.recipients)} hasn't been viewed yet and expires in "
            f"{in_words(record.expires_at - now)}.")
    return {"text": body, "blocks": [section(body)]}


def unknown_command_notice(word: str) -> str:
    return (f"I don't know `{escape(word[:40])}`. To pick people, mention them: "
            f"`/share-secret @alice`.\n\n{HELP}")


def asking_notice(asked: Sequence[str]) -> str:
    return f":inbox_tray: Asking {mentions(asked)} to share a secret with you."


def requests_failed_notice(failed: Sequence[str]) -> str:
    return f":warning: Couldn't ask {', '.join(failed)}."


def request_message(*, requester: str, reason: str | None) -> Message:
    """What someone asked for a secret gets: who asks, why, and a Share it button."""
    reason = (reason or "")[:REASON_CHARS]
    why = f": _{escape(reason)}_" if reason else "."
    body = f":inbox_tray: <@{requester}> asks you to share a secret with them{why}"
    # A button value holds at most 2000 characters: 150 of any script fit as UTF-8 JSON.
    value = json.dumps({"to": requester, "why": reason}, ensure_ascii=False)
    return {"text": f"<@{requester}> asks you to share a secret with them", "blocks": [
        section(body),
        {"type": "actions", "block_id": "request", "elements": [
            button("Share it", action_id=ids.ANSWER_REQUEST_ACTION, value=value,
                   style="primary")]},
        context("The secret will be encrypted and shown to them once, privately.")]}


def revoked_by_admin_notice(record: SecretRecord, *, admin: str) -> Message:
    body = (f":no_entry_sign: Your secret {quoted_name(record.label, record.code)} for "
            f"{audience_text(record.recipients)} was revoked by <@{admin}>, a share-secret "
            "admin. "
            "Nobody can reveal it any more.")
    return {"text": body, "blocks": [section(body)]}
