"""What conversations.* methods share: finding the conversation a call names, as the
bot's token is allowed to see it."""

from __future__ import annotations

from typing import Any

from .state import State
from .wire import ApiError


def visible_conversation(state: State, params: dict[str, Any],
                         scopes: dict[str, str]) -> Any:
    """The conversation `params["channel"]` names, as a conversations.* method reading it
    sees it: channel_not_found for an unknown id or a private one the bot is not in
    (unverified: the order of that check and the scope check), missing_scope when the
    token lacks the scope for its kind (`scopes`: kind -> scope)."""
    bot = state.workspace.bot_user
    channel = state.workspace.channels.get(str(params.get("channel") or ""))
    if channel is None:
        raise ApiError("channel_not_found")
    kind = "im" if channel.is_im else "mpim" if channel.is_mpim else \
        "group" if channel.is_private else "channel"
    if kind != "channel" and bot.id not in channel.members:
        raise ApiError("channel_not_found")
    if scopes[kind] not in state.settings.scopes:
        raise ApiError("missing_scope", needed=scopes[kind],
                       provided=",".join(state.settings.scopes))
    return channel
