"""chat.postMessage, chat.postEphemeral, chat.update and chat.delete.

Documented shapes and errors:
https://docs.slack.dev/reference/methods/chat.postMessage,
https://docs.slack.dev/reference/methods/chat.postEphemeral,
https://docs.slack.dev/reference/methods/chat.update,
https://docs.slack.dev/reference/methods/chat.delete.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import blockkit
from .state import Message, State
from .wire import ApiError, json_copy, truthy
from .workspace import Channel

# chat.postMessage: "Provide no more than 40,000 characters or risk truncation";
# unverified: that Slack answers msg_too_long past that rather than truncating.
MAX_TEXT = 40_000


def content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    """The message text and blocks, or the error Slack answers for them."""
    text = params.get("text") or params.get("markdown_text") or ""
    blocks = params.get("blocks")
    if not isinstance(text, str):
        text = str(text)
    if blocks is not None:
        if isinstance(blocks, str):
            raise ApiError("invalid_blocks_format")
        problems = blockkit.message_block_errors(blocks)
        if problems:
            raise ApiError("invalid_blocks", messages=problems)
    if not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    return text, json_copy(blocks) if blocks else None


def postable_channel(state: State, ref: Any, *, ephemeral_to: str | None = None) -> Channel:
    """The conversation a post to `ref` lands in, or the error Slack answers.

    A user id posts into the bot's DM with that user ("Post to a DM by passing a
    user ID as channel", chat.postMessage docs; unverified: that the answer's
    `channel` is then the D id, and the same for chat.postEphemeral).
    """
    workspace = state.workspace
    if not isinstance(ref, str) or not ref:
        raise ApiError("channel_not_found")
    channel = workspace.channel(ref)
    if channel is None and ref[:1] in ("U", "W"):
        if workspace.live_user(ref) is None:
            raise ApiError("channel_not_found")  # unverified for deactivated users
        channel, _ = workspace.open_conversation([ref])
    if channel is None:
        raise ApiError("channel_not_found")
    bot = workspace.bot_user.id
    if bot not in channel.members:
        if channel.is_private:
            # unverified: a private channel the bot is not in is invisible to its
            # token, so Slack answers channel_not_found rather than not_in_channel.
            raise ApiError("channel_not_found")
        if "chat:write.public" not in state.settings.scopes:
            # chat:write.public lets an app post to public channels it has not joined
            # (Slack's scope list); unverified: that chat.postEphemeral follows the
            # same rule.
            raise ApiError("not_in_channel")
    if channel.is_archived:
        raise ApiError("is_archived")
    if ephemeral_to is not None and ephemeral_to not in channel.members:
        raise ApiError("user_not_in_channel")
    return channel


def store(state: State, message: Message) -> Message:
    """Remember a message so that later calls can change it."""
    state.messages[(message.channel, message.ts)] = message
    return message


def store_new(state: State, channel_id: str, text: str, blocks: list[dict[str, Any]] | None,
              *, via: str, **fields: Any) -> Message:
    """Remember a new message the bot sends to `channel_id` now (`fields`: the rest of
    Message's, such as thread_ts or ephemeral_to)."""
    return store(state, Message(channel=channel_id, ts=state.new_ts(),
                                author=state.workspace.bot_user.id, text=text, blocks=blocks,
                                via=via, **fields))


def message_json(state: State, message: Message) -> dict[str, Any]:
    """The `message` object Slack returns for a posted or updated message."""
    settings = state.settings
    body: dict[str, Any] = {
        "type": "message",
        "text": message.text,
        "user": message.author,
        "bot_id": settings.bot_id,
        "app_id": settings.app_id,
        "team": settings.team_id,
        "ts": message.ts,
    }
    if message.blocks is not None:
        body["blocks"] = json_copy(message.blocks)
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if message.edited:  # unverified: the exact shape of `edited` in chat.update answers
        body["edited"] = {"user": message.author, "ts": state.new_ts()}
    if message.metadata is not None:  # unverified: that the posted message echoes it
        body["metadata"] = json_copy(message.metadata)
    return body


def message_metadata(params: dict[str, Any]) -> dict[str, Any] | None:
    """chat.postMessage's `metadata` ("JSON object with event_type and event_payload
    fields"), or the error Slack answers for it (unverified: which of its two metadata
    errors, invalid_metadata_format or invalid_metadata_schema, for which mistake)."""
    metadata = params.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"] or \
            not isinstance(metadata.get("event_payload"), dict):
        raise ApiError("invalid_metadata_schema")
    return json_copy(metadata)


def chat_post_message(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Post a message; answer `channel`, `ts` and the stored `message`."""
    channel = postable_channel(state, params.get("channel"))
    text, blocks = content(params)
    metadata = message_metadata(params)
    message = store_new(
        state, channel.id, text, blocks, via="chat.postMessage",
        thread_ts=params.get("thread_ts") or None,
        unfurl_links=_optional_bool(params, "unfurl_links"),
        unfurl_media=_optional_bool(params, "unfurl_media"),
        metadata=metadata,
    )
    return {"channel": channel.id, "ts": message.ts, "message": message_json(state, message)}


def chat_post_ephemeral(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Show a message to one member of a channel; answer its `message_ts`.

    Slack does not keep ephemeral messages: chat.update and chat.delete cannot find
    them. The stand-in keeps a copy for transcripts and response_url replacement.
    """
    user = params.get("user")
    if not isinstance(user, str) or state.workspace.live_user(user) is None:
        # unverified: Slack's answer for an unknown user; nobody unknown is a member.
        raise ApiError("user_not_in_channel")
    channel = postable_channel(state, params.get("channel"), ephemeral_to=user)
    text, blocks = content(params)
    message = store_new(state, channel.id, text, blocks, via="chat.postEphemeral",
                        ephemeral_to=user, thread_ts=params.get("thread_ts") or None)
    return {"message_ts": message.ts}


def _existing(state: State, params: dict[str, Any], *, not_mine: str) -> Message:
    ref, ts = params.get("channel"), params.get("ts")
    # chat.update: "For direct messages, ensure that this value is a DM ID (starts
    # with D) instead of a User ID", so user ids are not resolved here.
    channel = state.workspace.channels.get(ref) if isinstance(ref, str) else None
    if channel is None:
        raise ApiError("channel_not_found")
    message = state.messages.get((channel.id, str(ts)))
    if message is None or message.deleted or message.ephemeral_to is not None:
        raise ApiError("message_not_found")
    if message.author != state.workspace.bot_user.id:
        raise ApiError(not_mine)
    return message


def chat_update(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Replace a message the bot posted; answer `channel`, `ts`, `text`, `message`."""
    message = _existing(state, params, not_mine="cant_update_message")
    text, blocks = content(params)
    # unverified: Slack's handling of omitted text or blocks on update; here what is
    # sent replaces the message whole.
    message = store(state, dataclasses.replace(message, text=text, blocks=blocks, edited=True))
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message_json(state, message),
    }


def chat_delete(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a message the bot posted; answer `channel` and `ts`."""
    message = _existing(state, params, not_mine="cant_delete_message")
    store(state, dataclasses.replace(message, deleted=True))
    return {"channel": message.channel, "ts": message.ts}


def _optional_bool(params: dict[str, Any], name: str) -> bool | None:
    return truthy(params[name]) if name in params else None
