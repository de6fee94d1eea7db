"""users.* methods: who a user id or an email address is."""

from __future__ import annotations

from typing import Any

from .state import State
from .wire import ApiError

EMAIL_SCOPE = "users:read.email"


def users_info(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """A user's record (https://docs.slack.dev/reference/methods/users.info); its
    `profile.email` only for a token with users:read.email."""
    user = state.workspace.users.get(str(params.get("user") or ""))
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.as_json(with_email=EMAIL_SCOPE in state.settings.scopes)}


def users_lookup_by_email(state: State, params: dict[str, Any]) -> dict[str, Any]:
    """The member with this address
    (https://docs.slack.dev/reference/methods/users.lookupByEmail): Tier 3, scope
    users:read.email (checked by the dispatch).

    The method page: "If the user has been deactivated, users_not_found will be returned
    instead of a user object", and that is also the answer for an address nobody has.
    Slack's bots have no address, so no lookup finds one; a test that gives a bot user an
    address gets it back with is_bot true (unverified: whether Slack ever does).
    Matching ignores case (unverified, but addresses are case-insensitive in practice).
    """
    address = str(params.get("email") or "").strip()
    if not address:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: email"])
    user = state.workspace.by_email(address)
    if user is None or user.deleted:
        raise ApiError("users_not_found")
    return {"user": user.as_json(with_email=True)}
