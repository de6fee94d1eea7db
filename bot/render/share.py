"""The share form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain import (
    MAX_LABEL_CHARS,
    MAX_PASSPHRASE_CHARS,
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    MIN_PASSPHRASE_CHARS,
)
from bot.options import MAX_TOTAL_VIEWS, Expiry, Format, ViewMode
from bot.render import ids
from bot.render.blocks import Block, View, context, escape, modal, section, text


def _option(label: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": text(label), "value": value}
    if description:
        option["description"] = text(description)
    return option


_VIEW_OPTIONS = {
    ViewMode.EACH_ONCE: _option("Once per recipient", ViewMode.EACH_ONCE.value),
    ViewMode.TOTAL: _option("A total number of views", ViewMode.TOTAL.value,
                            "shared by all recipients; give the number below"),
    ViewMode.UNLIMITED: _option("Unlimited until it expires", ViewMode.UNLIMITED.value),
}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": text(label),
                             "element": element, "optional": optional}
    if hint:
        block["hint"] = text(hint)
    return block


def _select(action_id: str, options: list[dict[str, Any]],
            initial: dict[str, Any]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": action_id, "options": options,
            "initial_option": initial}


def _plain(action_id: str, *, placeholder: str, max_length: int,
           multiline: bool = False) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
            "max_length": max_length, "placeholder": text(placeholder)}


def share_modal(*, initial_users: Sequence[str] = (), origin_channel: str | None = None,
                requested_by: str | None = None, request_reason: str | None = None) -> View:
    """The form a sender fills in (from the command, or answering a request)."""
    users: dict[str, Any] = {"type": "multi_users_select", "action_id": ids.RECIPIENTS_ACTION,
                             "placeholder": text("Pick people"),
                             "max_selected_items": MAX_RECIPIENTS}
    if initial_users:
        users["initial_users"] = list(initial_users)[:MAX_RECIPIENTS]
    formats = [_option(f.label, f.value) for f in Format]
    presets = [_option(e.label, str(e.value)) for e in Expiry]
    notify = _option("Notify me when it is viewed", ids.NOTIFY_VALUE)
    blocks: list[Block] = []
    if requested_by:
        why = f": _{escape(request_reason)}_" if request_reason else "."
        blocks.append(section(f":inbox_tray: <@{requested_by}> asked you for a secret{why}"))
    blocks += [
        _input(ids.RECIPIENTS_BLOCK, "Share with", users),
        _input(ids.SECRET_BLOCK, "Secret",
               _plain(ids.SECRET_ACTION, placeholder="Paste the password, token or key",
                      max_length=MAX_SECRET_CHARS, multiline=True),
               hint="Encrypted before it is stored. Never posted in a conversation."),
        _input(ids.FORMAT_BLOCK, "Format",
               _select(ids.FORMAT_ACTION, formats, formats[0]),
               hint="JSON, YAML and .env are checked now and shown tidied on reveal."),
        _input(ids.LABEL_BLOCK, "Label",
               _plain(ids.LABEL_ACTION, placeholder="e.g. Staging DB password",
                      max_length=MAX_LABEL_CHARS),
               optional=True, hint="Shown to the recipients. Don't put the secret here."),
        _input(ids.EXPIRY_BLOCK, "Expires after",
               _select(ids.EXPIRY_ACTION, presets, _option(Expiry.default().label,
                                                           str(Expiry.default().value)))),
        _input(ids.CUSTOM_EXPIRY_BLOCK, "Or a custom expiry",
               _plain(ids.CUSTOM_EXPIRY_ACTION, placeholder="e.g. 45m, 12h, 3d", max_length=16),
               optional=True, hint="From 5 minutes to 30 days; replaces the choice above."),
        _input(ids.VIEWS_BLOCK, "Views allowed",
               _select(ids.VIEWS_ACTION, list(_VIEW_OPTIONS.values()),
                       _VIEW_OPTIONS[ViewMode.EACH_ONCE])),
        _input(ids.TOTAL_VIEWS_BLOCK, "Total views",
               {"type": "number_input", "action_id": ids.TOTAL_VIEWS_ACTION,
                "is_decimal_allowed": False, "min_value": "1",
                "max_value": str(MAX_TOTAL_VIEWS)},
               optional=True, hint="Only for \"A total number of views\"."),
        _input(ids.PASSPHRASE_BLOCK, "Passphrase",
               _plain(ids.PASSPHRASE_ACTION,
                      placeholder=f"Optional: {MIN_PASSPHRASE_CHARS} characters or more",
                      max_length=MAX_PASSPHRASE_CHARS),
               optional=True,
               hint="Recipients must type it to reveal the secret. Send it to them another "
                    "way (phone, another app), never in Slack."),
        _input(ids.NOTIFY_BLOCK, "Receipts",
               {"type": "checkboxes", "action_id": ids.NOTIFY_ACTION, "options": [notify],
                "initial_options": [notify]}, optional=True),
        context("The secret is destroyed when its views are used up, when it expires, or "
                "when you revoke it."),
    ]
    return modal("Share a secret", blocks, close="Cancel", submit=text("Share"),
                 callback_id=ids.SHARE_CALLBACK,
                 private_metadata=json.dumps({"ch": origin_channel} if origin_channel else {}))
