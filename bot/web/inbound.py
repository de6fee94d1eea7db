"""Slack request bodies, read and shape-checked before Bolt sees them.

Bolt reads a body (`parse_body`) and then pulls ids out of it (team, user, channel...)
and routes it by its fields, trusting the shapes Slack documents: `payload.team` an
object or a string, `actions` a non-empty list of objects, and so on. A body that
breaks those shapes made Bolt raise, and the bot answer 500. Such a body never comes
from Slack, so it is refused here with a 400 before Bolt builds its request: the
fields Bolt and our handlers read must have the types Slack documents, and ids must
look like Slack ids. Everything else in a payload is left alone (handlers read it
defensively).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt.request.internals import extract_content_type

from bot.errors import MalformedRequest
from bot.web.form_body import parse

# Slack ids: an upper-case letter, then upper-case letters and digits (U0123ABCD, T0.., E..).
_ID = re.compile(r"[A-Z][A-Z0-9]{1,39}")

Check = Callable[[Any, str], None]


def read(raw_body: str, headers: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The body as Bolt will read it (headers by lower-case name), if its shape is one
    Slack sends; else raise MalformedRequest (naming the field, never a value)."""
    try:
        parsed = parse(raw_body, extract_content_type(dict(headers)))
        body: dict[str, Any] = parsed.body
        _SHAPES["body"](body, "body")
    except (ValueError, RecursionError):  # broken JSON, or nested past Python's depth
        raise MalformedRequest("body") from None
    if parsed.maybe_surrogates:  # else there is none to look for (bot.web.form_body)
        _text_only(body)
    return body


def _text_only(body: dict[str, Any]) -> None:
    """Refuse strings that are not Unicode text: JSON can carry a lone surrogate
    (`"\\ud800"`), which Slack never sends and which UTF-8 cannot encode (Redis, the
    cipher and Slack's API would each fail on it later)."""
    pending: list[Any] = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedRequest("body: not Unicode text") from None


def _fail(path: str) -> None:
    raise MalformedRequest(path)


def _string(value: Any, path: str) -> None:
    if value is not None and not isinstance(value, str):
        _fail(path)


def _flag(value: Any, path: str) -> None:
    if value is not None and not isinstance(value, bool | str):
        _fail(path)


def _slack_id(value: Any, path: str) -> None:
    if value is not None and not (isinstance(value, str) and _ID.fullmatch(value)):
        _fail(path)


def _object(fields: Mapping[str, Check], *, required: tuple[str, ...] = (),
            nullable: bool = False, shorthand: Check | None = None) -> Check:
    """A JSON object whose listed fields pass their checks and whose `required` fields
    are present. Null only where `nullable` (Bolt tests `"type" in body["view"]`, which
    null breaks); `shorthand`: what Slack may send instead, such as a bare id."""
    def check(value: Any, path: str) -> None:
        if value is None and nullable:
            return
        if shorthand is not None and not isinstance(value, dict):
            shorthand(value, path)
            return
        if not isinstance(value, dict):
            _fail(path)
        for name in required:
            if name not in value:
                _fail(f"{path}.{name}")
        # Over the object's own fields (a dozen), not every field checked (about 45).
        for name, item in value.items():
            inner = fields.get(name)
            if inner is not None:
                inner(item, f"{path}.{name}")
    return check


def _objects(item: Check, *, non_empty: bool = False) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list) or (non_empty and not value):
            _fail(path)
        for index, inner in enumerate(value):
            item(inner, f"{path}[{index}]")
    return check


def _lazy(name: str) -> Check:
    """A check defined further down (the envelope nests in itself: event.message...)."""
    return lambda value, path: _SHAPES[name](value, path)


def _by_type(value: dict[str, Any], path: str) -> None:
    """Fields Bolt reads unguarded once it knows the payload's type (or its view's)."""
    view = value.get("view")
    kind = "workflow_step_save" if isinstance(view, dict) and \
        view.get("type") == "workflow_step" else value.get("type")
    for name, expected in _REQUIRED_BY_TYPE.get(kind, {}).items():
        if not isinstance(value.get(name), expected):
            _fail(f"{path}.{name}")


_WITH_ID = _object({"id": _slack_id, "team_id": _slack_id, "enterprise_id": _slack_id},
                   nullable=True, shorthand=_slack_id)
_VIEW = _object({"id": _string, "type": _string, "callback_id": _string,
                 "private_metadata": _string, "team_id": _slack_id,
                 "app_installed_team_id": _slack_id,
                 "state": _object({"values": _object({})})}, required=("type",))
_ACTION = _object({"action_id": _string, "block_id": _string, "type": _string,
                   "value": _string, "selected_user": _slack_id,
                   "selected_option": _object({"value": _string}, nullable=True)},
                  required=("action_id",))
_AUTHORIZATION = _object({"team_id": _slack_id, "user_id": _slack_id,
                          "enterprise_id": _slack_id, "is_enterprise_install": _flag})
_REQUIRED_BY_TYPE: dict[Any, dict[str, type]] = {
    "shortcut": {"callback_id": str}, "message_action": {"callback_id": str},
    "block_suggestion": {"action_id": str}, "workflow_step_edit": {"workflow_step": dict},
    "interactive_message": {"actions": list},
    "workflow_step_save": {"workflow_step": dict}}

# The fields read at the top level of a body, and again inside `event`, `message` and
# the other objects Bolt looks into for ids.
ENVELOPE: dict[str, Check] = {
    "type": _string, "token": _string, "api_app_id": _string, "trigger_id": _string,
    "response_url": _string, "callback_id": _string, "action_id": _string,
    "command": _string, "text": _string, "subtype": _string, "thread_ts": _string,
    "function_execution_id": _string, "bot_access_token": _string,
    "team_id": _slack_id, "user_id": _slack_id, "enterprise_id": _slack_id,
    "channel_id": _slack_id, "context_team_id": _slack_id,
    "context_enterprise_id": _slack_id, "user_team": _slack_id, "tab": _string,
    "is_enterprise_install": _flag, "is_ext_shared_channel": _flag,
    "team": _WITH_ID, "enterprise": _WITH_ID, "user": _WITH_ID, "channel": _WITH_ID,
    "view": _VIEW, "actions": _objects(_ACTION, non_empty=True),
    "authorizations": _objects(_AUTHORIZATION),
    "response_urls": _objects(_object({"response_url": _string})),
    "state": _object({}, nullable=True), "container": _object({}, nullable=True),
    "workflow_step": _object({}), "function_data": _object({}, nullable=True),
    "event": _lazy("event"), "message": _lazy("nested"),
    "previous_message": _lazy("nested"), "item": _lazy("nested"),
    "assistant_thread": _lazy("nested"),
}


def _envelope(required: tuple[str, ...] = (), *, nullable: bool = False,
              extra: Mapping[str, Check] | None = None) -> Check:
    shape = _object({**ENVELOPE, **(extra or {})}, required=required, nullable=nullable)

    def check(value: Any, path: str) -> None:
        shape(value, path)
        if isinstance(value, dict):
            _by_type(value, path)
    return check


# Inside `event` only: what Bolt's own listeners (tokens_revoked) and its log messages
# (function_executed) read there.
_EVENT_ONLY: dict[str, Check] = {
    "tokens": _object({"oauth": _objects(_slack_id), "bot": _objects(_slack_id)}),
    "function": _object({"callback_id": _string})}
_SHAPES = {"event": _envelope(("type",), extra=_EVENT_ONLY),
           "nested": _envelope(nullable=True), "body": _envelope()}
