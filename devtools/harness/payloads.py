"""What workspace members do, as the payloads Slack would build, and what they see.

Where Slack would build a request from what the bot sent earlier (a modal the bot
opened, a message with a button), `SlackUsers` builds it from what the stand-in
recorded, so the bot's own views and messages are what the simulated people use.
It only builds: `SlackSim` sends the payloads over HTTP, signed; `SocketSim` sends
them as Socket Mode envelopes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from devtools.slack_stand_in import SlackStandIn

API_APP_ID = "A0SHARESECRET"
COMMAND = "/share-secret"
# The Reveal button's action ids: plain, and for a secret locked with a passphrase.
REVEAL_ACTIONS = ("reveal_secret", "reveal_with_passphrase")


class SlackUsers:
    """Payload construction and the stand-in's view of what each person saw."""

    def __init__(self, *, slack: SlackStandIn, team_domain: str = "acme") -> None:
        self.slack = slack
        self.team_id = slack.team_id
        self.team_domain = team_domain

    # -- payloads -----------------------------------------------------------------

    def user_obj(self, user_id: str) -> dict[str, str]:
        return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
                "team_id": self.team_id}

    def command_form(self, user_id: str, channel_id: str, text: str = "") -> dict[str, str]:
        """The fields of `/share-secret text` typed in a channel (with a fresh trigger_id)."""
        return {
            "token": "deprecated-verification-token", "team_id": self.team_id,
            "team_domain": self.team_domain, "channel_id": channel_id,
            "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
            "command": COMMAND, "text": text,
            "response_url": self.slack.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": self.slack.new_trigger_id(), "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
        }

    def submission(self, user_id: str, view: dict[str, Any], *, recipients: list[str] | None,
                   secret: str | None, expiry: str | None = None,
                   **fields: Any) -> dict[str, Any]:
        """The view_submission payload of the share modal filled in and sent.

        The people picker gets `recipients`, the `secret` block the secret and the
        `expiry` block the option with value `expiry` (its initial option when None).
        Other inputs keep their initial value unless `fields` names their block id:
        text for text and number inputs, an option value for a select, a list of
        option values for checkboxes.
        """
        chosen = {**fields, "secret": secret, "expiry": expiry}
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element, block_id = block["element"], block["block_id"]
            if element["type"] == "multi_users_select":
                state = {"type": element["type"], "selected_users": recipients or []}
            else:
                state = _input_state(element, chosen.get(block_id),
                                     given=block_id in fields or block_id == "secret")
            values[block_id] = {element["action_id"]: state}
        return self.form_submission(user_id, view, values)

    def form_submission(self, user_id: str, view: dict[str, Any],
                        values: Mapping[str, Any]) -> dict[str, Any]:
        """The view_submission payload of any modal, with `values` as its state
        (`{block_id: {action_id: {"type": ..., "value": ...}}}`)."""
        return {
            "type": "view_submission", "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self.user_obj(user_id), "api_app_id": API_APP_ID,
            "token": "deprecated-verification-token",
            "trigger_id": self.slack.new_trigger_id(view_id=view.get("id")),
            "view": {**view, "state": {"values": dict(values)}},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }

    def block_action(self, user_id: str, message: Any, button: dict[str, Any]) -> dict[str, Any]:
        """The block_actions payload of a click on a button in a message the bot sent."""
        ephemeral = message.ephemeral_to is not None
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self.user_obj(user_id), "api_app_id": API_APP_ID,
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": message.ts,
                          "channel_id": message.channel, "is_ephemeral": ephemeral},
            "trigger_id": self.slack.new_trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": "general"},
            "state": {"values": {}},
            "response_url": self.slack.new_response_url(
                channel_id=message.channel, user_id=user_id, message_ts=message.ts),
            "actions": [{"action_id": button["action_id"], "block_id": button["block_id"],
                         "value": button.get("value"), "type": "button",
                         "text": button.get("text"), "action_ts": f"{time.time():.6f}"}],
        }
        if not ephemeral:  # Slack omits the message for buttons in ephemeral messages
            payload["message"] = {"type": "message", "ts": message.ts, "text": message.text,
                                  "blocks": message.blocks, "user": self.slack.bot_user_id}
        return payload

    def home_opened(self, user_id: str) -> dict[str, Any]:
        """The Events API body Slack sends when a user opens the app's Home tab."""
        home = self.slack.home_of(user_id)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user_id,
                                 "channel": f"D{user_id[1:]}", "tab": "home",
                                 "event_ts": f"{time.time():.6f}"}
        if home:  # Slack includes the Home view last published, if any
            event["view"] = home
        return {"token": "deprecated-verification-token", "team_id": self.team_id,
                "api_app_id": API_APP_ID, "event": event, "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
                "authorizations": [{"team_id": self.team_id, "user_id": self.slack.bot_user_id,
                                    "is_bot": True, "is_enterprise_install": False}]}

    def home_action(self, user_id: str, element: dict[str, Any], *, block_id: str,
                    value: dict[str, Any] | None = None) -> dict[str, Any]:
        """block_actions from an element of the user's Home tab (a button or a select);
        `value` is what the element reports (e.g. {"selected_user": "U1"})."""
        home = self.slack.home_of(user_id)
        assert home is not None, f"no Home tab was published for {user_id}"
        action = {"action_id": element["action_id"], "block_id": block_id,
                  "type": element["type"], "action_ts": f"{time.time():.6f}"}
        action.update(value if value is not None else {"value": element.get("value")})
        return {"type": "block_actions", "user": self.user_obj(user_id),
                "api_app_id": API_APP_ID, "token": "deprecated-verification-token",
                "container": {"type": "view", "view_id": home["id"]},
                "trigger_id": self.slack.new_trigger_id(),
                "team": {"id": self.team_id, "domain": self.team_domain},
                "enterprise": None, "is_enterprise_install": False, "view": home,
                "actions": [action]}

    def view_choice(self, user_id: str, view: dict[str, Any], *, block_id: str,
                    value: str, typed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """block_actions from choosing an option of a radio_buttons input (one with
        `dispatch_action`) in a modal the bot opened: Slack sends the view as it stands,
        its state holding what was chosen and everything typed so far (`typed`, by block
        id, as `submission`'s fields: the secret too, if it was typed first)."""
        block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
        element = block["element"]
        option = next(o for o in element["options"] if o["value"] == value)
        values: dict[str, Any] = {}
        for other in view.get("blocks", []):
            if other.get("type") == "input" and other["block_id"] in (typed or {}):
                values[other["block_id"]] = {other["element"]["action_id"]: _input_state(
                    other["element"], (typed or {})[other["block_id"]], given=True)}
        values[block_id] = {element["action_id"]: {"type": element["type"],
                                                   "selected_option": option}}
        return {"type": "block_actions", "user": self.user_obj(user_id),
                "api_app_id": API_APP_ID, "token": "deprecated-verification-token",
                "container": {"type": "view", "view_id": view["id"]},
                "trigger_id": self.slack.new_trigger_id(view_id=view["id"]),
                "team": {"id": self.team_id, "domain": self.team_domain},
                "enterprise": None, "is_enterprise_install": False,
                "view": {**view, "state": {"values": values}},
                "actions": [{"type": element["type"], "action_id": element["action_id"],
                             "block_id": block_id, "selected_option": option,
                             "action_ts": f"{time.time():.6f}"}]}

    def global_shortcut(self, user_id: str, callback_id: str) -> dict[str, Any]:
        """The payload of a global shortcut chosen from Slack's shortcut menu."""
        return {"type": "shortcut", "token": "deprecated-verification-token",
                "action_ts": f"{time.time():.6f}",
                "team": {"id": self.team_id, "domain": self.team_domain},
                "user": self.user_obj(user_id), "is_enterprise_install": False,
                "enterprise": None, "callback_id": callback_id,
                "trigger_id": self.slack.new_trigger_id()}

    # -- what people see ----------------------------------------------------------

    def opened_view(self, trigger_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the bot opened with this trigger (as the stand-in answered it)."""
        call = self.slack.wait_for("views.open", timeout=timeout,
                                   where=lambda c: c.params.get("trigger_id") == trigger_id)[0]
        assert call.ok, call.describe()
        return dict(call.response["view"])

    def reveal_prompt(self, user_id: str, timeout: float = 5.0) -> tuple[Any, dict[str, Any]]:
        """Wait for the bot's message with a Reveal button that `user_id` can see."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find_prompts(user_id)
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"no Reveal message reached {user_id}")

    def find_prompts(self, user_id: str) -> list[tuple[Any, dict[str, Any]]]:
        # The person's DM however the bot found it (opened now, or remembered).
        dms = {self.slack.dm_of(user_id)} - {None}
        found = []
        for message in self.slack.messages():
            if message.deleted or not (message.ephemeral_to == user_id or message.channel in dms):
                continue
            for block in message.blocks or []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") in REVEAL_ACTIONS:
                        found.append((message, {**element, "block_id": block.get("block_id")}))
        return found

    def shown_view(self, trigger_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the bot opened in answer to a click (views.open with that trigger)."""
        call = self.slack.wait_for("views.open", timeout=timeout,
                                   where=lambda c: c.params.get("trigger_id") == trigger_id)[0]
        return dict(call.params["view"])


def _input_state(element: dict[str, Any], value: Any, *, given: bool) -> dict[str, Any]:
    """The state Slack reports for one input: `value` when `given` (or, for selects,
    not None), else what the element shows initially."""
    kind = element["type"]
    if kind in ("plain_text_input", "number_input"):
        return {"type": kind, "value": value if given else element.get("initial_value")}
    if kind in ("static_select", "radio_buttons"):
        if value is None:
            return {"type": kind, "selected_option": element.get("initial_option")}
        options = {o["value"]: o for o in element["options"]}
        # A value the form does not offer is sent anyway, as a tampered client would.
        option = options.get(value, {"text": {"type": "plain_text", "text": "?"},
                                     "value": value})
        return {"type": kind, "selected_option": option}
    if kind == "checkboxes":
        if not given:
            return {"type": kind, "selected_options": element.get("initial_options", [])}
        options = {o["value"]: o for o in element["options"]}
        return {"type": kind, "selected_options": [options[v] for v in value]}
    raise AssertionError(f"unexpected input element {kind}")
