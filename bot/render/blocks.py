"""Block Kit building blocks shared by every view and message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    CLI_ACTOR,
    LINK_PRINCIPAL,
    SLACK_PLATFORM,
    WEB_VISITOR,
    api_token_name,
    email_of,
    is_slack_user,
)

View = dict[str, Any]
Message = dict[str, Any]
Block = dict[str, Any]


def text(value: str, *, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": value, **({"emoji": True} if kind == "plain_text" else {})}


SECTION_LIMIT = 3000  # Slack's limit for a section's text


def section(markdown: str, **extra: Any) -> Block:
    if len(markdown) > SECTION_LIMIT:  # a last guard; callers keep lists short themselves
        markdown = markdown[:SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": text(markdown, kind="mrkdwn"), **extra}


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [text(markdown, kind="mrkdwn")]}


def button(label: str, *, action_id: str, value: str, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                               "text": text(label)}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def modal(title: str, blocks: list[Block], *, close: str = "Close", **extra: Any) -> View:
    return {"type": "modal", "title": text(title), "close": text(close), "blocks": blocks,
            **extra}


def notice(markdown: str) -> Message:
    """A short private reply (to a slash command), as a JSON message with mrkdwn."""
    return {"response_type": "ephemeral", "text": markdown, "blocks": [section(markdown)]}


def slack_date(ts: float) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def who(principal: str) -> str:
    """A recipient or actor in mrkdwn: a Slack user by mention, an email recipient by
    address, an API token by name, the link's holder, the page's visitor or the command
    line in words."""
    if is_slack_user(principal):
        return f"<@{principal}>"
    if principal == LINK_PRINCIPAL:
        return "anyone with the link"
    if principal == WEB_VISITOR:
        return "a visitor of the web page"
    if principal == SLACK_PLATFORM:
        return "Slack"
    if principal == CLI_ACTOR:
        return "the command line"
    token = api_token_name(principal)
    if token is not None:
        return f"API token *{escape(token)}*"
    address = email_of(principal)
    return escape(address if address is not None else principal)


def mentions(users: Iterable[str], *, limit: int = 20) -> str:
    """People by mention (or address, for external recipients), at most `limit` of them
    and then "and N more"."""
    people = list(users)
    shown = ", ".join(who(u) for u in people[:limit])
    return shown + (f" and {len(people) - limit} more" if len(people) > limit else "")


def escape(value: str) -> str:
    """User-typed text made safe for mrkdwn: no mentions, links or @channel can hide in it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoted_name(label: str | None, code: str) -> str:
    """How a secret is named in messages: *its label* (CODE), or just `CODE`."""
    return f"*{escape(label)}* (`{code}`)" if label else f"`{code}`"


def in_words(seconds: float) -> str:
    """A rough duration: "in 3 days", "in 2 hours", "in 5 minutes"."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"
