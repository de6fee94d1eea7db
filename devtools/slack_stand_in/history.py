"""conversations.history (https://docs.slack.dev/reference/methods/conversations.history).

What the method page says, and the stand-in does: a bot token reads the history of a
conversation the bot is a member of, with the *:history scope of that kind of
conversation (channels:, groups:, im:, mpim:history). Messages come newest first;
`oldest` (default 0) and `latest` (default now) bound them, exclusive unless `inclusive`;
`limit` defaults to 100 (at most 999: "Fewer than the requested number of items may be
returned"); `has_more` and `response_metadata.next_cursor` page on to older messages.
`include_all_metadata` returns the messages' metadata.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .chat import message_json
from .conversations import visible_conversation
from .state import Message, State
from .wire import ApiError, truthy

HISTORY_SCOPES = {"channel": "channels:history", "group": "groups:history",
                  "im": "im:history", "mpim": "mpim:history"}
DEFAULT_LIMIT, MAX_LIMIT = 100, 999


def conversations_history(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """A page of a conversation's messages, newest first."""
    bot = state.workspace.bot_user
    channel = visible_conversation(state, params, HISTORY_SCOPES)
    if bot.id not in channel.members:
        raise ApiError("not_in_channel")  # a bot token reads only where the bot is
    oldest, latest = _ts(params.get("oldest"), 0.0), _ts(params.get("latest"), None)
    inclusive = truthy(params.get("inclusive", False))
    limit = _limit(params.get("limit"))
    before = _cursor(params.get("cursor"))
    found = sorted((m for m in state.messages.values() if m.channel == channel.id
                    and _listed(m) and _within(float(m.ts), oldest, latest, inclusive)
                    and (before is None or float(m.ts) < before)),
                   key=lambda m: float(m.ts), reverse=True)
    page, more = found[:limit], len(found) > limit
    with_metadata = truthy(params.get("include_all_metadata", False))
    body: dict[str, Any] = {
        "messages": [_json(state, m, with_metadata=with_metadata) for m in page],
        "has_more": more, "pin_count": 0, "channel_actions_ts": None,
        "channel_actions_count": 0}
    if more:
        body["response_metadata"] = {"next_cursor": _next_cursor(page[-1].ts)}
    return body


def _listed(message: Message) -> bool:
    # Deleted and ephemeral messages are not in the history; thread replies are listed
    # under their parent (conversations.replies), not here.
    return not message.deleted and message.ephemeral_to is None and \
        message.thread_ts in (None, message.ts)


def _within(ts: float, oldest: float, latest: float | None, inclusive: bool) -> bool:
    if inclusive:
        return ts >= oldest and (latest is None or ts <= latest)
    return ts > oldest and (latest is None or ts < latest)


def _json(state: State, message: Message, *, with_metadata: bool) -> dict[str, Any]:
    author = state.workspace.users.get(message.author)
    if message.via == "user" or author is None or not author.is_bot:
        body: dict[str, Any] = {"type": "message", "user": message.author,
                                "text": message.text, "ts": message.ts}
        if message.blocks is not None:
            body["blocks"] = message.blocks
    else:
        body = message_json(state, message)
        body["bot_id"] = author.bot_id
    body.pop("metadata", None)
    if with_metadata and message.metadata is not None:
        body["metadata"] = dict(message.metadata)
    return body


def _ts(value: Any, default: float | None) -> float | None:
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_ts_oldest" if default == 0.0 else "invalid_ts_latest") from None


def _limit(value: Any) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        return max(1, min(MAX_LIMIT, int(value)))
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None  # unverified: the error's name


def _next_cursor(ts: str) -> str:
    # Opaque to callers, as Slack's ("bmV4dF90czox..." in its examples).
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        decoded = base64.b64decode(str(value), validate=True).decode()
        return float(decoded.removeprefix("next_ts:")) if decoded.startswith("next_ts:") \
            else _bad_cursor()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return _bad_cursor()


def _bad_cursor() -> float:
    raise ApiError("invalid_cursor")
