"""Who a secret is for, in a line: Slack people by mention, email recipients by address
(fewer of them: addresses are long), the link's holder as "anyone with the link"."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import email_of
from bot.render.blocks import who


def audience_text(recipients: Sequence[str], *, limit: int = 20, addresses: int = 1) -> str:
    """Everyone a secret is for, at most `limit` of them (`addresses` when they are email
    addresses, which are long) and then "and N more"."""
    people = list(recipients)
    if any(email_of(r) is not None for r in people):
        limit = addresses
    shown = ", ".join(who(r) for r in people[:limit])
    return shown + (f" and {len(people) - limit} more" if len(people) > limit else "")
