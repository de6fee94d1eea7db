"""Did an audit post arrive? Looked up in the audit channel's recent history.

Every audit post carries message metadata naming its batch
(`{"event_type": "share_secret_audit", "event_payload": {"batch": id}}`, the
chat.postMessage `metadata` argument). When a post's outcome is unknown, the outbox
pages through conversations.history from a little before the first try, with
`include_all_metadata`, for a message of this bot that names the batch.
"""

from __future__ import annotations

import enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

EVENT_TYPE = "share_secret_audit"
# Clocks of the bot and of Slack may differ a little; message timestamps are Slack's.
MARGIN_SECONDS = 120.0
PAGE = 100  # messages per page (Slack may answer fewer, e.g. 15 for some apps)
MAX_PAGES = 20  # the audit channel gets about one post a second: minutes of history
# Answers that mean the bot cannot read this channel's history: the token lacks
# channels:history / groups:history, or the bot posts to a public channel it is not in
# (chat:write.public), whose history a bot token cannot read.
CANNOT_READ = frozenset({"missing_scope", "not_in_channel", "channel_not_found"})


class Outcome(enum.Enum):
    FOUND = "found"  # the post arrived: do not post again
    ABSENT = "absent"  # it did not: post
    UNKNOWN = "unverified"  # cannot tell: post again, marked as a possible repeat


def metadata(batch: str) -> dict[str, Any]:
    """The metadata an audit post carries."""
    return {"event_type": EVENT_TYPE, "event_payload": {"batch": batch}}


async def find_batch(client: AsyncWebClient, *, channel: str, batch: str, since: float,
                     bot_id: str | None) -> tuple[Outcome, str]:
    """Whether this bot's post of `batch` (first tried at `since`) is in the channel;
    with Slack's reason when it cannot tell. Other failures raise (try again later)."""
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            answer = await client.conversations_history(
                channel=channel, oldest=f"{max(0.0, since - MARGIN_SECONDS):.6f}",
                limit=PAGE, include_all_metadata=True, cursor=cursor)
            if any(_names(m, batch, bot_id) for m in answer.get("messages") or []):
                return Outcome.FOUND, ""
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not answer.get("has_more") or not cursor:
                return Outcome.ABSENT, ""
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "")
        if exc.response.status_code == 200 and code in CANNOT_READ:
            return Outcome.UNKNOWN, code
        raise
    return Outcome.UNKNOWN, "too_much_history"


def _names(message: Any, batch: str, bot_id: str | None) -> bool:
    if not isinstance(message, dict):
        return False
    if bot_id is not None and message.get("bot_id") != bot_id:
        return False  # only the bot's own posts count: nobody else can vouch for one
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return False
    payload = meta.get("event_payload")
    return isinstance(payload, dict) and payload.get("batch") == batch
