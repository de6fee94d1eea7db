"""Slack's side of the conversation: signed requests, shaped like Slack's, sent to the bot.

Where Slack would build a request from what the bot sent earlier (a modal the bot
opened, a message with a button), `SlackSim` builds it from what the stand-in
recorded, so the bot's own views and messages are what the simulated people use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.harness.bot_process import BotProcess
from tests.slack_stand_in import SlackStandIn

API_APP_ID = "A0SHARESECRET"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    """The bot's HTTP answer."""

    status: int
    body: bytes
    trigger_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSim:
    """Sends correctly signed Slack requests on behalf of workspace members."""

    def __init__(self, *, bot: BotProcess, slack: SlackStandIn, signing_secret: str,
                 team_domain: str = "acme") -> None:
        self.bot = bot
        self.slack = slack
        self.signing_secret = signing_secret
        self.team_id = slack.team_id
        self.team_domain = team_domain

    # -- transport ----------------------------------------------------------------

    def post(self, body: bytes, *, content_type: str = "application/x-www-form-urlencoded",
             timestamp: str | None = None, secret: str | None = None,
             extra_headers: dict[str, str] | None = None) -> Reply:
        """POST a body to /slack/events signed as Slack signs it (or with a given secret)."""
        ts = timestamp or str(int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": signature(secret or self.signing_secret, ts, body),
                   **(extra_headers or {})}
        status, answer = self.bot.request("POST", "/slack/events", body, headers)
        return Reply(status, answer)

    def interaction(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), **kwargs)

    # -- what people do -----------------------------------------------------------

    def user_obj(self, user_id: str) -> dict[str, str]:
        return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
                "team_id": self.team_id}

    def slash_command(self, user_id: str, channel_id: str, text: str = "",
                      **kwargs: Any) -> Reply:
        """Type `/share-secret text` in a channel."""
        trigger = self.slack.new_trigger_id()
        form = {
            "token": "deprecated-verification-token", "team_id": self.team_id,
            "team_domain": self.team_domain, "channel_id": channel_id,
            "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
            "command": "/share-secret", "text": text,
            "response_url": self.slack.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": trigger, "api_app_id": API_APP_ID, "is_enterprise_install": "false",
        }
        reply = self.post(urlencode(form).encode(), **kwargs)
        reply.trigger_id = trigger
        return reply

    def opened_view(self, trigger_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the bot opened with this trigger (as the stand-in answered it)."""
        call = self.slack.wait_for("views.open", timeout=timeout,
                                   where=lambda c: c.params.get("trigger_id") == trigger_id)[0]
        assert call.ok, call.describe()
        return dict(call.response["view"])

    def submit(self, user_id: str, view: dict[str, Any], *, recipients: list[str] | None,
               secret: str | None, expiry: str | None = None,
               **kwargs: Any) -> Reply:
        """Fill in the share modal the bot opened and press Share."""
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            kind, action = element["type"], element["action_id"]
            if kind == "multi_users_select":
                state = {"type": kind, "selected_users": recipients or []}
            elif kind == "plain_text_input":
                state = {"type": kind, "value": secret}
            elif kind == "static_select":
                options = {o["value"]: o for o in element["options"]}
                chosen = options.get(expiry) if expiry else element.get("initial_option")
                if expiry and chosen is None:  # a value the form does not offer
                    chosen = {"text": {"type": "plain_text", "text": "?"}, "value": expiry}
                state = {"type": kind, "selected_option": chosen}
            else:
                raise AssertionError(f"unexpected input element {kind}")
            values[block["block_id"]] = {action: state}
        payload = {
            "type": "view_submission", "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self.user_obj(user_id), "api_app_id": API_APP_ID,
            "token": "deprecated-verification-token",
            "trigger_id": self.slack.new_trigger_id(view_id=view.get("id")),
            "view": {**view, "state": {"values": values}},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }
        return self.interaction(payload, **kwargs)

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
        dms = {c.response["channel"]["id"] for c in self.slack.calls_to("conversations.open")
               if c.ok and c.params.get("users") == user_id}
        found = []
        for message in self.slack.messages():
            if message.deleted or not (message.ephemeral_to == user_id or message.channel in dms):
                continue
            for block in message.blocks or []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") == "reveal_secret":
                        found.append((message, {**element, "block_id": block.get("block_id")}))
        return found

    def click(self, user_id: str, message: Any, button: dict[str, Any],
              **kwargs: Any) -> Reply:
        """Click a button in a message the bot sent."""
        ephemeral = message.ephemeral_to is not None
        trigger = self.slack.new_trigger_id()
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self.user_obj(user_id), "api_app_id": API_APP_ID,
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": message.ts,
                          "channel_id": message.channel, "is_ephemeral": ephemeral},
            "trigger_id": trigger, "team": {"id": self.team_id, "domain": self.team_domain},
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
        reply = self.interaction(payload, **kwargs)
        reply.trigger_id = trigger
        return reply

    def shown_view(self, trigger_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the bot opened in answer to a click (views.open with that trigger)."""
        call = self.slack.wait_for("views.open", timeout=timeout,
                                   where=lambda c: c.params.get("trigger_id") == trigger_id)[0]
        return dict(call.params["view"])
