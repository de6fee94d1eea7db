"""Who a secret is for and who acts on it, as the bot names them (principals): Slack
users by id, email recipients as `mailto:<address>`, the link's holder, an API token, the
command line, the web page's visitor. Pure functions."""

from __future__ import annotations

import re

# The recipients of an external secret are principals, not Slack user ids: the one
# "link" principal (whoever holds the link), or "mailto:<address>" per email recipient.
# They share the view-counting machinery of Slack recipients (`r:<principal>`).
LINK_PRINCIPAL = "link"
EMAIL_PREFIX = "mailto:"


def email_principal(address: str) -> str:
    """The principal of an email recipient (the address as normalised by the form)."""
    return EMAIL_PREFIX + address


def email_of(principal: str) -> str | None:
    """The address an email principal stands for (None for anything else)."""
    return principal[len(EMAIL_PREFIX):] if principal.startswith(EMAIL_PREFIX) else None


def masked_address(address: str) -> str:
    """`bob@vendor.com` as `b**@vendor.com`: enough to tell recipients apart, not to
    harvest them from the audit log."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * min(max(len(local) - 1, 2), 6)}@{domain}"


def masked(principal: str) -> str:
    """A principal as the audit log keeps it: an email recipient's address masked
    (addresses live only in a secret's sealed metadata, for as long as it is kept)."""
    address = email_of(principal)
    return principal if address is None else email_principal(masked_address(address))


# Who opened a secret's web page, before they proved anything (audit events' actor).
WEB_VISITOR = "web-visitor"
# The operator at the command line (`python -m bot api-tokens ...`), as an actor.
CLI_ACTOR = "command-line"
# A secret shared through the HTTP API names its token as the sender: "api:<id>:<name>"
# (the id keeps tokens apart; the name is what people read in the audit log).
API_PREFIX = "api:"


def api_principal(token_id: str, name: str) -> str:
    """The sender (and actor) an API token stands for."""
    return f"{API_PREFIX}{token_id}:{name}"


def api_token_name(principal: str) -> str | None:
    """The token name an API principal carries (None for anything else)."""
    if not principal.startswith(API_PREFIX):
        return None
    _, sep, name = principal[len(API_PREFIX):].partition(":")
    return name if sep and name else None


# Slack itself, as the actor of what it tells the bot (the app was removed, say).
SLACK_PLATFORM = "slack-platform"
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_slack_user(principal: str) -> bool:
    """Whether a recipient or actor is a Slack user (gets Reveal messages, is mentioned),
    not an external principal."""
    return bool(_SLACK_USER.fullmatch(principal))
