"""Every view, message and user-facing text, as pure functions returning Block Kit dicts.

Wording and layout change here and nowhere else. No function takes a secret's content
except `revealed_modal`, the one place it is ever shown.
"""

from bot.render.audit import audit_batch, audit_line, audit_message
from bot.render.blocks import Message, View, escape, mentions, notice, slack_date
from bot.render.home import AdminPage, admin_audit, admin_list, home_view
from bot.render.ids import *  # noqa: F403 - the ids are part of this package's interface
from bot.render.manage import (
    BUSY,
    HELP,
    NOT_FOUND,
    STORE_DOWN,
    expired_notice,
    reminder_notice,
    request_message,
    revoked_by_admin_notice,
    revoked_notice,
    secret_list,
    secret_status,
    sender_confirmation,
    viewed_receipt,
)
from bot.render.reveal import (
    ended_prompt,
    locked,
    locked_modal,
    not_for_you_modal,
    opening_modal,
    passphrase_modal,
    reveal_failed_modal,
    reveal_prompt,
    reveal_retry_message,
    reveal_unconfirmed_message,
    revealed_message,
    revealed_modal,
    store_down_modal,
    unavailable_modal,
    wrong_passphrase,
)
from bot.render.share import share_modal

__all__ = [
    "BUSY",
    "HELP",
    "NOT_FOUND",
    "STORE_DOWN",
    "AdminPage",
    "Message",
    "View",
    "admin_audit",
    "admin_list",
    "audit_batch",
    "audit_line",
    "audit_message",
    "ended_prompt",
    "escape",
    "expired_notice",
    "home_view",
    "locked",
    "locked_modal",
    "mentions",
    "not_for_you_modal",
    "notice",
    "opening_modal",
    "passphrase_modal",
    "reminder_notice",
    "request_message",
    "reveal_failed_modal",
    "reveal_prompt",
    "reveal_retry_message",
    "reveal_unconfirmed_message",
    "revealed_message",
    "revealed_modal",
    "revoked_by_admin_notice",
    "revoked_notice",
    "secret_list",
    "secret_status",
    "sender_confirmation",
    "share_modal",
    "slack_date",
    "store_down_modal",
    "unavailable_modal",
    "viewed_receipt",
    "wrong_passphrase",
]
