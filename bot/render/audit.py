"""Audit lines for the admin channel: who did what to which secret, when. Never content."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain import AuditAction, AuditEvent
from bot.render.blocks import (
    SECTION_LIMIT,
    Message,
    context,
    escape,
    mentions,
    section,
    slack_date,
    who,
)

_PHRASES = {
    AuditAction.SECRET_CREATED: (":lock:", "Secret created", "by"),
    AuditAction.SECRET_OPENED: (":unlock:", "Secret opened", "by"),
    AuditAction.SECRET_BURNED: (":fire:", "Secret burned", "after a view by"),
    AuditAction.SECRET_EXPIRED: (":hourglass:", "Secret expired", "sent by"),
    AuditAction.SECRET_REVOKED: (":no_entry_sign:", "Secret revoked", "by"),
    AuditAction.SECRET_REVOKED_ADMIN: (":no_entry_sign:", "Secret revoked by an admin", "by"),
    AuditAction.ADMIN_VIEWED: (":mag:", "Admin looked at", "by"),
    AuditAction.SETTINGS_CHANGED: (":gear:", "Settings changed", "by"),
    AuditAction.UNREADABLE: (":grey_question:", "Unreadable audit entry", "by"),
    AuditAction.ACCESS_DENIED: (":no_entry:", "Access denied", "to"),
    AuditAction.PASSPHRASE_FAILED: (":key:", "Wrong passphrase", "from"),
    AuditAction.PASSPHRASE_LOCKED: (":lock:", "Secret locked", "after wrong passphrases from"),
    AuditAction.SECRET_REQUESTED: (":inbox_tray:", "Secret requested", "by"),
    AuditAction.REVEAL_FAILED: (":warning:", "Reveal failed", "for"),
    AuditAction.RATE_LIMITED: (":hourglass:", "Rate limit reached", "by"),
    AuditAction.REFUSALS_MERGED: (":no_entry:", "More refusals", "for"),
    AuditAction.PAGE_OPENED: (":globe_with_meridians:", "Web page opened", "by"),
    AuditAction.CODE_SENT: (":email:", "Code mailed", "to"),
    AuditAction.API_TOKEN_CREATED: (":robot_face:", "API token created", "by"),
    AuditAction.API_TOKEN_REVOKED: (":robot_face:", "API token revoked", "by"),
}


# Shown on a batch posted again after a restart when the bot could not check whether its
# first post arrived (it cannot read the channel's history).
MAY_REPEAT = (":repeat: _These lines may repeat lines posted just before a restart: "
              "share-secret could not check (grant it channels:history or groups:history "
              "to make sure)._")


def audit_batch(events: Sequence[AuditEvent], *, metadata: dict[str, Any] | None = None,
                may_repeat: bool = False) -> Message:
    """Several events in one message, one line each (a burst, delivered together).

    `metadata` (Slack message metadata) names the batch, so that it can be found in the
    channel later. A batch that `may_repeat` is shown as blocks with a note under the
    lines, while its text (the notification, and what exports read) stays the lines.
    """
    lines = [audit_line(e) for e in events]
    message: Message = {"text": "\n".join(lines), "unfurl_links": False,
                        "unfurl_media": False}
    if metadata is not None:
        message["metadata"] = metadata
    if may_repeat:
        message["blocks"] = [section(chunk) for chunk in _chunks(lines)] + [context(MAY_REPEAT)]
    return message


def _chunks(lines: Sequence[str]) -> list[str]:
    """The lines joined into texts that each fit a section (a longer line is cut)."""
    chunks: list[str] = []
    for line in lines:
        line = line if len(line) <= SECTION_LIMIT else line[:SECTION_LIMIT - 1] + "…"
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


def audit_line(event: AuditEvent) -> str:
    """An event's line; one that cannot be rendered becomes a plain "unreadable" line
    rather than stopping the audit log."""
    try:
        return str(audit_message(event)["text"])
    except (ValueError, OverflowError, KeyError, OSError):
        return f":grey_question: *Unreadable audit entry* {escape(event.event_id or '?')}"


def audit_message(event: AuditEvent) -> Message:
    """One readable line per event: what, which secret, who, details, when."""
    emoji, what, preposition = _PHRASES[event.action]
    subject = f" `{event.code}`" if event.code else (
        " secrets" if event.action is AuditAction.ADMIN_VIEWED else "")
    text = f"{emoji} *{what}*{subject} {preposition} {who(event.actor)}"
    if event.recipients:
        to = "from" if event.action is AuditAction.SECRET_REQUESTED else "for"
        text += f" {to} {mentions(event.recipients)}"
    if event.expires_at and event.action is AuditAction.SECRET_CREATED:
        text += f", expires {slack_date(event.expires_at)}"
    if event.detail:
        text += f" ({escape(event.detail)})"
    if event.mode == "external":
        text += " · on the web" + (f" from {escape(event.client_ip)}" if event.client_ip else "")
        if event.user_agent:
            # As code: a URL in a user agent must not become a link in the channel.
            text += f" (`{escape(event.user_agent).replace('`', chr(39))}`)"
    text += f" · {slack_date(event.at)}"
    return {"text": text, "unfurl_links": False, "unfurl_media": False}
