"""Triggers and modals: views.open, views.push, views.update.

Documented behaviour (https://docs.slack.dev/reference/methods/views.open,
https://docs.slack.dev/reference/methods/views.push,
https://docs.slack.dev/reference/methods/views.update,
https://api.slack.com/docs/triggers):
- a trigger_id expires after 3 seconds and can be exchanged once; errors
  `invalid_trigger_id`, `expired_trigger_id`, `exchanged_trigger_id`;
- "After a modal is opened, the app is limited to pushing 2 additional views"
  (`push_limit_reached`), so a stack holds at most 3 views;
- views.update takes `view_id` or `external_id` (`not_found`) and an optional
  `hash` (`hash_conflict` when it no longer matches);
- `external_id` must be unique per team (`duplicate_external_id`);
- a view over 250 kB is `view_too_large`; a malformed view is `invalid_arguments`
  with `response_metadata.messages`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from . import blockkit
from .state import State
from .wire import ApiError

MAX_STACK = 3


def new_trigger(state: State, *, view_id: str | None) -> str:
    """Mint a trigger id shaped like Slack's ("12345.98765.abcd2358fdea")."""
    trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
    state.triggers[trigger_id] = {
        "issued": state.clock(),
        "used": False,
        "view_id": view_id,
    }
    return trigger_id


def _check_trigger(state: State, params: dict[str, Any]) -> dict[str, Any]:
    trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
    if not trigger_id:
        raise ApiError("invalid_arguments", messages=["missing required field: trigger_id"])
    trigger = state.triggers.get(str(trigger_id))
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger["used"]:
        raise ApiError("exchanged_trigger_id")
    if state.clock() - trigger["issued"] > state.settings.trigger_ttl:
        raise ApiError("expired_trigger_id")
    return trigger


def _checked_view(state: State, params: dict[str, Any], *, keep_id: str | None = None) -> dict:
    """The view argument if Slack would take it, as a copy of its own to store (the
    recorded params keep theirs)."""
    view = params.get("view")
    if view is None:
        raise ApiError("invalid_arguments", messages=["missing required field: view"])
    encoded = _encoded(view, blockkit.modal_errors)
    external_id = view.get("external_id")
    if external_id:
        for other in state.views.values():
            if other["external_id"] == external_id and other["id"] != keep_id:
                raise ApiError("duplicate_external_id")
    copied: dict[str, Any] = json.loads(encoded)
    return copied


def _encoded(view: Any, problems_in: Callable[[Any], list[str]]) -> str:
    """The view as JSON if Slack would take it: not too large, and without the problems
    `problems_in` (blockkit.modal_errors or home_errors) finds. Encoded once: for the size
    check, and decoded again as the copy to store."""
    encoded = json.dumps(view)
    if blockkit.encoded_too_large(encoded):
        raise ApiError("view_too_large")
    problems = problems_in(view)
    if problems:
        raise ApiError("invalid_arguments", messages=problems)
    return encoded


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _stored_view(
    state: State, view: dict[str, Any], *, view_id: str, root_id: str, previous_id: str | None
) -> dict[str, Any]:
    # `view` is the stand-in's own copy (_checked_view): its parts are stored as they are.
    settings = state.settings
    stored = {
        "id": view_id,
        "team_id": settings.team_id,
        "type": view["type"],
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata") or "",
        "callback_id": view.get("callback_id") or "",
        "external_id": view.get("external_id") or "",
        # unverified: the views.open example shows `"values": []`; view_submission
        # payloads carry an object, which is what is kept here.
        "state": {"values": {}},
        "hash": _new_hash(),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_id,
        "previous_view_id": previous_id,
        "app_id": settings.app_id,
        "app_installed_team_id": settings.team_id,
        "bot_id": settings.bot_id,
    }
    # A stored view is replaced by views.update, never changed in place: answers (and the
    # recorded responses) can share it rather than copy it.
    state.views[view_id] = stored
    return stored


def views_open(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Open a modal as a new stack; answer the stored `view`."""
    # unverified: whether Slack checks the trigger or the view first; a refused view
    # leaves the trigger usable here.
    trigger = _check_trigger(state, params)
    view = _checked_view(state, params)
    trigger["used"] = True
    view_id = state.new_id("V")
    stored = _stored_view(state, view, view_id=view_id, root_id=view_id, previous_id=None)
    state.stacks[view_id] = [view_id]
    return {"view": stored}


def views_push(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Push a modal onto the stack the trigger came from; answer the pushed `view`."""
    trigger = _check_trigger(state, params)
    view = _checked_view(state, params)
    stack = _stack_for(state, trigger.get("view_id"))
    if len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    trigger["used"] = True
    view_id = state.new_id("V")
    stored = _stored_view(state, view, view_id=view_id, root_id=stack[0], previous_id=stack[-1])
    stack.append(view_id)
    return {"view": stored}


def _stack_for(state: State, view_id: str | None) -> list[str]:
    for stack in state.stacks.values():
        if view_id in stack:
            return stack
    # unverified: a trigger minted without a modal context pushes onto the newest
    # open stack; Slack's answer when no modal is open at all is not documented.
    if view_id is None and state.stacks:
        return list(state.stacks.values())[-1]
    raise ApiError("not_found")


def views_update(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Replace an open view, keeping its id and place in the stack."""
    view_id, external_id = params.get("view_id"), params.get("external_id")
    if view_id:
        current = state.views.get(str(view_id))
    elif external_id:
        current = next((v for v in state.views.values() if v["external_id"] == external_id), None)
    else:
        raise ApiError(
            "invalid_arguments", messages=["[ERROR] either view_id or external_id is required"]
        )
    if current is None:
        raise ApiError("not_found")
    given_hash = params.get("hash")
    if given_hash and given_hash != current["hash"]:
        raise ApiError("hash_conflict")
    view = _checked_view(state, params, keep_id=current["id"])
    stored = _stored_view(
        state,
        view,
        view_id=current["id"],
        root_id=current["root_view_id"],
        previous_id=current["previous_view_id"],
    )
    return {"view": stored}


def close_stack(state: State, view_id: str) -> None:
    """The user closed the modal holding `view_id`: its whole stack goes away."""
    for root, stack in list(state.stacks.items()):
        if view_id in stack:
            for member in stack:
                state.views.pop(member, None)
            del state.stacks[root]


def views_publish(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """Publish a user's Home tab (replacing the previous one); answer the stored view."""
    user_id = str(params.get("user_id") or "")
    if not user_id:
        raise ApiError("invalid_arguments", messages=["missing required field: user_id"])
    if user_id not in state.workspace.users:
        raise ApiError("user_not_found")
    view = params.get("view")
    encoded = _encoded(view, blockkit.home_errors)
    current = state.homes.get(user_id)
    given_hash = params.get("hash")
    if given_hash and current and given_hash != current["hash"]:
        raise ApiError("hash_conflict")
    assert isinstance(view, dict)
    stored = {
        "id": current["id"] if current else f"V{secrets.token_hex(5).upper()}",
        "team_id": state.settings.team_id, "type": "home",
        "blocks": json.loads(encoded).get("blocks", []),  # a copy of its own to store
        "private_metadata": view.get("private_metadata") or "",
        "callback_id": view.get("callback_id") or "", "state": {"values": {}},
        "hash": _new_hash(), "app_id": state.settings.app_id, "bot_id": state.settings.bot_id,
    }
    state.homes[user_id] = stored
    return {"view": stored}
