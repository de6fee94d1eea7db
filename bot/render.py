"""Every view, message and user-facing text, as pure functions that return Block Kit dicts.

Wording and layout change here and nowhere else. Block and action ids that the
handlers read back are constants below. No function here takes a secret's content
except `revealed_modal`, the one place it is ever shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    AuditAction,
    AuditEvent,
    Expiry,
    SecretRecord,
)

SHARE_CALLBACK = "share_secret"
REVEAL_ACTION = "reveal_secret"
RECIPIENTS_BLOCK, RECIPIENTS_ACTION = "recipients", "users"
SECRET_BLOCK, SECRET_ACTION = "secret", "text"
EXPIRY_BLOCK, EXPIRY_ACTION = "expiry", "choice"

View = dict[str, Any]
Message = dict[str, Any]

HELP = (
    "*Share a secret* (a password, API key, credentials) so it never sits in chat history:\n"
    "• `/share-secret` opens a form; `/share-secret @alice @bob` picks the recipients for you.\n"
    "• Each recipient gets a *Reveal* button and can see the secret once, privately. "
    "Then it is destroyed.\n"
    "• Secrets are encrypted before they are stored, and expire unread after the time "
    "you choose."
)
BUSY = "Share-secret is very busy right now. Please try again in a few seconds."
STORE_DOWN = "Couldn't save your secret, nothing was shared. Please try again in a minute."


def notice(text: str) -> Message:
    """A short private reply (to a slash command), as a JSON message with mrkdwn."""
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}


def slack_date(ts: float) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def mentions(users: Iterable[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)


def _text(text: str, *, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": text, **({"emoji": True} if kind == "plain_text" else {})}


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": _text(markdown, kind="mrkdwn")}


def _context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_text(markdown, kind="mrkdwn")]}


def _modal(title: str, blocks: list[dict[str, Any]], *, close: str = "Close",
           **extra: Any) -> View:
    return {"type": "modal", "title": _text(title), "close": _text(close), "blocks": blocks,
            **extra}


def _expiry_option(expiry: Expiry) -> dict[str, Any]:
    return {"text": _text(expiry.label), "value": str(expiry.value)}


def share_modal(*, initial_users: Sequence[str] = (), origin_channel: str | None = None) -> View:
    """The form a sender fills in."""
    users_element: dict[str, Any] = {
        "type": "multi_users_select", "action_id": RECIPIENTS_ACTION,
        "placeholder": _text("Pick people"), "max_selected_items": MAX_RECIPIENTS,
    }
    if initial_users:
        users_element["initial_users"] = list(initial_users)[:MAX_RECIPIENTS]
    blocks = [
        {"type": "input", "block_id": RECIPIENTS_BLOCK, "label": _text("Share with"),
         "element": users_element},
        {"type": "input", "block_id": SECRET_BLOCK, "label": _text("Secret"),
         "element": {"type": "plain_text_input", "action_id": SECRET_ACTION, "multiline": True,
                     "max_length": MAX_SECRET_CHARS,
                     "placeholder": _text("Paste the password, token or key")},
         "hint": _text("Encrypted before it is stored. Never posted in a conversation.")},
        {"type": "input", "block_id": EXPIRY_BLOCK, "label": _text("Expires after"),
         "element": {"type": "static_select", "action_id": EXPIRY_ACTION,
                     "options": [_expiry_option(e) for e in Expiry],
                     "initial_option": _expiry_option(Expiry.default())}},
        _context("Each recipient can reveal it once. After that, or when it expires, "
                 "it is destroyed."),
    ]
    return _modal("Share a secret", blocks, close="Cancel", submit=_text("Share"),
                  callback_id=SHARE_CALLBACK,
                  private_metadata=json.dumps({"ch": origin_channel} if origin_channel else {}))


def reveal_prompt(record: SecretRecord) -> Message:
    """The message a recipient gets: who sent it and a Reveal button (a value, no URL)."""
    intro = f"<@{record.sender_id}> shared a secret with you."
    return {
        "text": f"{intro} Open it with the Reveal button.",
        "blocks": [
            _section(f":lock: {intro}\nYou can reveal it once; it expires "
                     f"{slack_date(record.expires_at)}."),
            {"type": "actions", "block_id": "reveal", "elements": [{
                "type": "button", "action_id": REVEAL_ACTION, "value": record.secret_id,
                "style": "primary", "text": _text("Reveal secret")}]},
            _context(f"Share code `{record.code}` · only you can open it"),
        ],
    }


def revealed_modal(plaintext: str, *, sender_id: str, code: str) -> View:
    """The one place a secret is shown: a modal, so it never lands in a conversation."""
    return _modal("Your secret", [
        _section(f"From <@{sender_id}> · code `{code}`"),
        # Preformatted rich text shows the secret verbatim: no mrkdwn, no escaping.
        {"type": "rich_text", "elements": [{"type": "rich_text_preformatted",
                                            "elements": [{"type": "text", "text": plaintext}]}]},
        _context(":fire: This secret has now been destroyed for you. Copy it before you "
                 "close this window: it cannot be shown again."),
    ], close="Done")


def revealed_message(*, sender_id: str, code: str, at: float) -> Message:
    """What the recipient's Reveal message becomes once they have seen the secret."""
    text = (f":unlock: You revealed the secret <@{sender_id}> shared ({code}) "
            f"{slack_date(at)}. It can't be viewed again.")
    return {"replace_original": True, "text": text, "blocks": [_section(text)]}


def not_for_you_modal() -> View:
    return _modal("Share-secret", [_section(":no_entry: This secret was not shared with you.")])


def unavailable_modal() -> View:
    return _modal("Share-secret", [_section(
        ":hourglass: This secret is no longer available. It may have been viewed already, "
        "have expired or been revoked. Ask the sender to share it again if you still need it.")])


def store_down_modal() -> View:
    return _modal("Share-secret", [_section(
        ":warning: Share-secret is temporarily unavailable. The secret is still there: "
        "please try again in a minute.")])


def reveal_failed_modal(sender_id: str | None) -> View:
    who = f"<@{sender_id}>" if sender_id else "the sender"
    return _modal("Share-secret", [_section(
        f":warning: This secret couldn't be opened. It has not been used up: please "
        f"contact {who} and try again later.")])


def reveal_retry_message() -> Message:
    """Sent privately when the secret could not be shown in time; it was not used up."""
    return {"response_type": "ephemeral", "replace_original": False,
            "text": ":warning: Couldn't open the secret in time. It is still there: "
                    "click *Reveal secret* again."}


def sender_confirmation(record: SecretRecord, *, failed: Sequence[str] = ()) -> Message:
    """The sender's private receipt: to whom, until when, and the share code."""
    reached = [u for u in record.recipients if u not in failed]
    lines = [f":white_check_mark: Your secret was shared with {mentions(reached)}."
             if reached else ":x: Your secret could not be delivered to anyone."]
    if failed:
        lines.append(f":warning: Couldn't reach {mentions(failed)}; they did not get it.")
    lines.append(f"Each recipient can reveal it once. It expires "
                 f"{slack_date(record.expires_at)}. Share code: `{record.code}`")
    text = "\n".join(lines)
    return {"text": text, "blocks": [_section(text)]}


def audit_message(event: AuditEvent) -> Message:
    """One readable line per event for the admin channel; metadata only."""
    code = f"`{event.code}`" if event.code else "an unknown secret"
    who = f"<@{event.actor}>"
    if event.action is AuditAction.SECRET_CREATED:
        expires = f", expires {slack_date(event.expires_at)}" if event.expires_at else ""
        text = (f":lock: *Secret created* {code} by {who} for "
                f"{mentions(event.recipients)}{expires}")
    elif event.action is AuditAction.SECRET_OPENED:
        text = f":unlock: *Secret opened* {code} by {who}"
    elif event.action is AuditAction.ACCESS_DENIED:
        text = f":no_entry: *Access denied* {code} to {who}"
    else:
        text = f":warning: *Reveal failed* {code} for {who}"
    if event.detail:
        text += f" ({event.detail})"
    text += f" · {slack_date(event.at)}"
    return {"text": text, "unfurl_links": False, "unfurl_media": False}
