"""Who a secret is for, in words: Slack people by mention, email recipients by address,
and the link's holder as "anyone with the link"."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import LINK_PRINCIPAL, email_of
from bot.render.blocks import escape

ANYONE_WITH_THE_LINK = "anyone with the link"


def principal(recipient: str) -> str:
    """One recipient: `<@U123>`, `bob@vendor.com` or "anyone with the link"."""
    if recipient == LINK_PRINCIPAL:
        return ANYONE_WITH_THE_LINK
    address = email_of(recipient)
    return escape(address) if address is not None else f"<@{recipient}>"


def audience_text(recipients: Sequence[str], *, limit: int = 20, addresses: int = 1) -> str:
    """Everyone a secret is for, at most `limit` of them (`addresses` when they are email
    addresses, which are long) and then "and N more"."""
    people = list(recipients)
    if any(email_of(r) is not None for r in people):
        limit = addresses
    shown = ", ".join(principal(r) for r in people[:limit])
    return shown + (f" and {len(people) - limit} more" if len(people) > limit else "")
