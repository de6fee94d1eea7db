"""response_url: the per-interaction webhook Slack hands the app.

Documented (https://docs.slack.dev/interactivity/handling-user-interaction,
"Message responses"): a JSON POST with `text`/`blocks`, `response_type`
("ephemeral", the default, or "in_channel"), `replace_original` and
`delete_original`; usable up to 5 times within 30 minutes; it can replace or
delete the message the interaction came from, ephemeral ones included.

Not documented, so modelled on Slack's incoming-webhook answers (same host, plain
text bodies) and marked unverified:
- success: HTTP 200, body "ok";
- unknown url: 404 "no_service";
- more than 5 uses: 404 "used_url"; older than 30 minutes: 404 "expired_url";
- body not JSON: 400 "invalid_payload"; nothing to post: 400 "no_text";
  bad blocks: 400 "invalid_blocks";
- only accepted posts count as uses.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from typing import Any

from . import blockkit
from .chat import store, store_new
from .state import Message, State
from .wire import ApiError, truthy


class ResponseUrlError(ApiError):
    """A refused response_url post: an HTTP status and a plain-text code."""


def issue(state: State, *, channel_id: str, user_id: str, message_ts: str | None) -> str:
    """Register a new response_url context; return its opaque path token."""
    token = secrets.token_urlsafe(18)
    state.response_urls[token] = {
        "channel_id": channel_id,
        "user_id": user_id,
        "message_ts": message_ts,
        "issued": state.clock(),
        "uses": 0,
    }
    return token


def context(state: State, token: str) -> dict[str, Any] | None:
    """What a response_url was issued for (channel_id, user_id, message_ts), if known."""
    entry = state.response_urls.get(token)
    if entry is None:
        return None
    return {k: entry[k] for k in ("channel_id", "user_id", "message_ts")}


def decode_body(body: bytes) -> dict[str, Any]:
    """The JSON object posted, or `invalid_payload`."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ResponseUrlError("invalid_payload", status=400) from None
    if not isinstance(payload, dict):
        raise ResponseUrlError("invalid_payload", status=400)
    return payload


def post(state: State, token: str, payload: dict[str, Any]) -> None:
    """Apply one post to a response_url; raises ResponseUrlError when refused."""
    entry = state.response_urls.get(token)
    if entry is None:
        raise ResponseUrlError("no_service", status=404)
    if state.clock() - entry["issued"] > state.settings.response_url_ttl:
        raise ResponseUrlError("expired_url", status=404)
    if entry["uses"] >= state.settings.response_url_max_uses:
        raise ResponseUrlError("used_url", status=404)
    original = _original(state, entry)
    if truthy(payload.get("delete_original")):
        if original is not None:
            store(state, dataclasses.replace(original, deleted=True))
        entry["uses"] += 1
        return
    text, blocks = _content(payload)
    if truthy(payload.get("replace_original")) and original is not None:
        store(state, dataclasses.replace(original, text=text, blocks=blocks, edited=True))
    else:
        # unverified: replace_original with no original message posts a new one.
        in_channel = payload.get("response_type") == "in_channel"
        store_new(state, entry["channel_id"], text, blocks, via="response_url",
                  ephemeral_to=None if in_channel else entry["user_id"],
                  thread_ts=payload.get("thread_ts") or None)
    entry["uses"] += 1


def _original(state: State, entry: dict[str, Any]) -> Message | None:
    ts = entry["message_ts"]
    if ts is None:
        return None
    message = state.messages.get((entry["channel_id"], ts))
    return None if message is None or message.deleted else message


def _content(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    text = payload.get("text") or ""
    blocks = payload.get("blocks")
    if blocks is not None and blockkit.message_block_errors(blocks):
        raise ResponseUrlError("invalid_blocks", status=400)
    if not text and not blocks and not payload.get("attachments"):
        raise ResponseUrlError("no_text", status=400)
    return str(text), json.loads(json.dumps(blocks)) if blocks else None
