"""Words about secrets opened outside Slack: the sender's receipt, how an address is
shown where the address itself should not be (the audit channel), and how the page names
a sender who is not a Slack user."""

from __future__ import annotations

from bot.domain import LINK_PRINCIPAL, email_of
from bot.render.blocks import Message, escape, quoted_name, section


def opened_receipt(*, principal: str, label: str | None, code: str, client_ip: str,
                   last_view: bool) -> Message:
    """The sender's DM when someone opens their secret on the web page."""
    address = email_of(principal)
    opener = escape(address) if address is not None else (
        "Someone with the link" if principal == LINK_PRINCIPAL else "Someone")
    body = (f":eyes: {opener} opened {quoted_name(label, code)} on the web page "
            f"from {escape(client_ip)}.")
    if last_view:
        body += " That was its last view: it is gone now."
    return {"text": body, "blocks": [section(body)]}


def api_sender_name(token_name: str) -> str:
    """How the web page and the link mail name an API token that shared a secret (plain
    text: the page and the mail escape it themselves)."""
    return f"{token_name[:60]} (API)"
