"""The Web API surface: one function per method, and the dispatch every call goes through.

Dispatch order for one call: unknown method, armed fault, token, rate tier (the methods
tiers.py enforces), scope, method.
Every answer carries `x-oauth-scopes` (Bolt reads it from auth.test to learn the
bot's scopes) and `x-accepted-oauth-scopes`, spelled lower-case as Bolt looks them up.
App-level methods (apps.connections.open) take the app-level token instead of the
bot token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import chat, history, views
from .conversations import visible_conversation
from .faults import Fault
from .state import State
from .users import EMAIL_SCOPE, users_info, users_lookup_by_email
from .wire import Answer, ApiError, Parsed, add_warnings, json_answer, truthy
from .workspace import channel_info

Method = Callable[[State, dict[str, Any]], dict[str, Any]]

# conversations.open: "Needs at most 8 users to open" (too_many_users).
MAX_MPIM_USERS = 8


def auth_test(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Who the token is (https://docs.slack.dev/reference/methods/auth.test)."""
    settings, bot = state.settings, state.workspace.bot_user
    return {
        "url": f"https://{settings.team_domain}.slack.com/",
        "team": settings.team_name,
        "user": bot.name,
        "team_id": settings.team_id,
        "user_id": bot.id,
        "bot_id": settings.bot_id,
        "is_enterprise_install": False,
    }


def conversations_open(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Open or resume the bot's DM or group DM
    (https://docs.slack.dev/reference/methods/conversations.open).

    Without `return_im` the answer is `{"channel": {"id": ...}}`; with it, the full
    IM definition, plus `no_op`/`already_open` when it was open already
    (unverified: whether those two flags also appear without return_im).
    """
    workspace = state.workspace
    ref = params.get("channel")
    if ref and not params.get("users"):
        channel = workspace.channels.get(str(ref))
        if channel is None or not (channel.is_im or channel.is_mpim):
            raise ApiError("channel_not_found")
        was_open = True
    else:
        user_ids = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not user_ids:
            raise ApiError("users_list_not_supplied")
        if len(user_ids) > MAX_MPIM_USERS:
            raise ApiError("too_many_users")
        for user_id in user_ids:
            user = workspace.users.get(user_id)
            if user is None:
                raise ApiError("user_not_found")
            if user.deleted:
                raise ApiError("user_disabled")
        channel, was_open = workspace.open_conversation(user_ids)
    if not truthy(params.get("return_im", False)):
        return {"channel": {"id": channel.id}}
    body: dict[str, Any] = {"channel": channel.im_json()}
    if was_open:
        body = {"no_op": True, "already_open": True, **body}
    return body


# conversations.info: the scope follows the kind of conversation (its method page lists
# channels:read, groups:read, im:read and mpim:read; each reads one kind).
INFO_SCOPES = {"channel": "channels:read", "group": "groups:read", "im": "im:read",
               "mpim": "mpim:read"}


def conversations_info(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """A conversation's record (https://docs.slack.dev/reference/methods/conversations.info).

    A private channel the bot is not in is invisible to it: channel_not_found, as for an
    id that does not exist (unverified: the order of that check and the scope check).
    """
    channel = visible_conversation(state, params, INFO_SCOPES)
    return {"channel": channel_info(channel, bot_id=state.workspace.bot_user.id)}



def apps_connections_open(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """A one-time Socket Mode websocket URL
    (https://docs.slack.dev/reference/methods/apps.connections.open)."""
    if state.socket_url is None:
        raise ApiError("internal_error")
    return {"url": state.socket_url()}


# The app-level token's scope for Socket Mode; unverified: the scope headers Slack
# sends with app-level answers.
CONNECTIONS_SCOPE = "connections:write"
# Methods called with the app-level token (xapp-) instead of the bot token.
APP_LEVEL_METHODS: dict[str, Method] = {"apps.connections.open": apps_connections_open}

# Method name -> (function, scope the bot token needs or None).
METHODS: dict[str, tuple[Method, str | None]] = {
    "auth.test": (auth_test, None),
    "users.info": (users_info, "users:read"),
    "users.lookupByEmail": (users_lookup_by_email, EMAIL_SCOPE),
    "conversations.open": (conversations_open, "im:write"),
    "conversations.info": (conversations_info, None),  # its scope depends on the channel
    "conversations.history": (history.conversations_history, None),  # so does this one's
    "chat.postMessage": (chat.chat_post_message, "chat:write"),
    "chat.postEphemeral": (chat.chat_post_ephemeral, "chat:write"),
    "chat.update": (chat.chat_update, "chat:write"),
    "chat.delete": (chat.chat_delete, "chat:write"),
    "views.open": (views.views_open, None),
    "views.push": (views.views_push, None),
    "views.update": (views.views_update, None),
    "views.publish": (views.views_publish, None),
}


def call(state: State, method: str, parsed: Parsed) -> Answer:
    """Answer one Web API call. The caller holds the state lock."""
    if method in APP_LEVEL_METHODS:
        return _call_app_level(state, method, parsed)
    scopes = ",".join(state.settings.scopes)
    entry = METHODS.get(method)
    needed = entry[1] if entry else None
    accepted = ",".join(INFO_SCOPES.values()) if method == "conversations.info" else \
        ",".join(history.HISTORY_SCOPES.values()) if method == "conversations.history" \
        else needed
    headers = {"x-oauth-scopes": scopes, "x-accepted-oauth-scopes": accepted or ""}
    try:
        if entry is None:
            # unverified: Slack's HTTP status for an unknown method; the body is
            # `unknown_method` with the method echoed in `req_method`.
            raise ApiError("unknown_method", req_method=method)
        fault = state.faults.take(method)
        if fault is not None:
            return fault_answer(fault, headers)
        if not parsed.token:
            raise ApiError("not_authed")
        if parsed.token in state.revoked_tokens:
            raise ApiError("token_revoked")
        if not state.settings.bot_token or parsed.token != state.settings.bot_token:
            raise ApiError("invalid_auth")
        wait = state.rate_windows.take(state.settings.team_id, method, state.clock())
        if wait is not None:
            # unverified: whether Slack counts a call before or after its scope check.
            return fault_answer(Fault("ratelimited", 429, wait, 1), headers)
        function, scope = entry
        if method == "conversations.open" and "," in str(parsed.params.get("users") or ""):
            scope = "mpim:write"
        if scope is not None and scope not in state.settings.scopes:
            raise ApiError("missing_scope", needed=scope, provided=scopes)
        body = add_warnings({"ok": True, **function(state, parsed.params)}, parsed.warnings)
        return json_answer(body, headers=headers)
    except ApiError as error:
        return json_answer(error.body(), status=error.status, headers=headers)


def _call_app_level(state: State, method: str, parsed: Parsed) -> Answer:
    headers = {"x-oauth-scopes": CONNECTIONS_SCOPE, "x-accepted-oauth-scopes": CONNECTIONS_SCOPE}
    try:
        fault = state.faults.take(method)
        if fault is not None:
            return fault_answer(fault, headers)
        if not parsed.token:
            raise ApiError("not_authed")
        # A bot or user token is the wrong kind here (slack-ruby-client#363 quotes
        # not_allowed_token_type for a bot token on apps.connections.open).
        if not parsed.token.startswith("xapp-"):
            raise ApiError("not_allowed_token_type")
        # The method page: the token must travel in the Authorization header, "passing
        # it as a POST parameter will result in an error" (python-slack-sdk#1877 quotes
        # invalid_auth for that).
        if not parsed.bearer or parsed.token != state.settings.app_token:
            raise ApiError("invalid_auth")
        body = {"ok": True, **APP_LEVEL_METHODS[method](state, parsed.params)}
        return json_answer(add_warnings(body, parsed.warnings), headers=headers)
    except ApiError as error:
        return json_answer(error.body(), status=error.status, headers=headers)


def fault_answer(fault: Fault, headers: dict[str, str] | None = None) -> Answer:
    """The Web API answer for an armed fault: a rate limit or an error."""
    headers = dict(headers or {})
    if fault.retry_after is not None:
        # https://docs.slack.dev/apis/web-api/rate-limits: HTTP 429 with Retry-After
        # in seconds; the body's `ratelimited` code is listed on each method page.
        headers["Retry-After"] = str(fault.retry_after)
        return json_answer({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
    return json_answer(
        {"ok": False, "error": fault.error}, status=fault.status or 200, headers=headers
    )
