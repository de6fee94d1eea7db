"""Request templates shaped like Slack's, with placeholders the load generator fills in.

Placeholders (`__USER__`, `__TRIGGER__`, ...) survive URL-encoding unchanged, so a
template is encoded once and each request is a few string replacements.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bot import render

COMMAND = "/share-secret"  # as in manifest.yml

API_APP_ID = "A0SHARESECRET"
BOT_ID = "B0BENCH"  # the app's bot, as the stand-in is told (benchmarks.standin_proc)
SECRET_100 = ("db-password=Zr8#qL2!vN4@tX7$kP1%wM5^hB3&yC6*jD9(fG0)sA2-eR4+uT8=iO1?pQ3"
              ":lK5;nJ7")[:100].ljust(100, "x")


def _user(user: str, team_id: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id}


def reveal_click(*, team_id: str, channel: str) -> str:
    """A block_actions click on a Reveal button in an ephemeral message."""
    payload: dict[str, Any] = {
        "type": "block_actions", "user": _user("__USER__", team_id), "api_app_id": API_APP_ID,
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100",
                      "channel_id": channel, "is_ephemeral": True},
        "trigger_id": "__TRIGGER__", "team": {"id": team_id, "domain": "bench"},
        "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": channel, "name": "general"}, "state": {"values": {}},
        "response_url": "__RESPONSE__",
        "actions": [{"action_id": render.REVEAL_ACTION, "block_id": "reveal",
                     "value": "__SECRET__", "type": "button",
                     "text": {"type": "plain_text", "text": "Reveal secret"},
                     "action_ts": "__TS__"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def slash_command(*, team_id: str, channel: str) -> str:
    """`/share-secret @a @b`, which opens the share form with two people picked."""
    return urlencode({
        "token": "deprecated-verification-token", "team_id": team_id, "team_domain": "bench",
        "channel_id": channel, "channel_name": "general", "user_id": "__USER__",
        "user_name": "__USER__", "command": COMMAND, "text": "<@U0R0000001> <@U0R0000002>",
        "response_url": "__RESPONSE__", "trigger_id": "__TRIGGER__", "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
    })


def share_submission(*, team_id: str, channel: str) -> str:
    """Pressing Share in the bot's own form: two recipients, a 100-byte secret, every
    other field as the form starts (24 hours, each recipient once)."""
    view = render.share_modal(origin_channel=channel)
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, action = element["type"], element["action_id"]
        if kind == "multi_users_select":
            state: dict[str, Any] = {"type": kind, "selected_users": ["__R1__", "__R2__"]}
        elif kind == "plain_text_input":
            secret = block["block_id"] == getattr(render, "SECRET_BLOCK", "secret")
            state = {"type": kind, "value": SECRET_100 if secret else None}
        elif kind in ("static_select", "radio_buttons"):
            state = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "checkboxes":
            state = {"type": kind, "selected_options": element.get("initial_options", [])}
        elif kind == "number_input":
            state = {"type": kind, "value": element.get("initial_value")}
        else:
            raise AssertionError(f"unexpected input element {kind}")
        values[block["block_id"]] = {action: state}
    payload = {
        "type": "view_submission", "team": {"id": team_id, "domain": "bench"},
        "user": _user("__USER__", team_id), "api_app_id": API_APP_ID,
        "token": "deprecated-verification-token", "trigger_id": "__TRIGGER__",
        "view": _as_slack_echoes(view, team_id=team_id, values=values),
        "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def _as_slack_echoes(view: dict[str, Any], *, team_id: str,
                     values: dict[str, Any]) -> dict[str, Any]:
    """The view as a view_submission carries it: the stored view (every field Slack adds,
    as the stand-in's views.open answers it) with the form's state; a block the app sent
    without a block_id has one Slack made up."""
    blocks = [block if "block_id" in block else {**block, "block_id": f"b{i:04d}"}
              for i, block in enumerate(view["blocks"])]
    return {
        "id": "__VIEW__", "team_id": team_id, "type": "modal", "blocks": blocks,
        "private_metadata": view.get("private_metadata") or "",
        "callback_id": view.get("callback_id") or "", "state": {"values": values},
        "hash": "1700000000.abcdef", "title": view["title"], "clear_on_close": False,
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"), "submit": view.get("submit"),
        "previous_view_id": None, "root_view_id": "__VIEW__", "app_id": API_APP_ID,
        "external_id": view.get("external_id") or "", "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }


def snappass_create() -> str:
    return urlencode({"password": SECRET_100, "ttl": "day"})


def api_create() -> str:
    """POST /api/v1/secrets: the same 100-byte secret, for anyone with the link, a day."""
    return json.dumps({"secret": SECRET_100, "audience": {"link": True},
                       "expires_in": "1d"})
