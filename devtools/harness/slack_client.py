"""Slack's side of the conversation over HTTP: signed requests, shaped like Slack's,
sent to the bot's POST /slack/events. The payloads come from `SlackUsers`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from devtools.harness.payloads import API_APP_ID, SlackUsers
from devtools.slack_stand_in import SlackStandIn

__all__ = ["API_APP_ID", "HttpBot", "Reply", "SlackSim", "signature"]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class HttpBot(Protocol):
    """What SlackSim needs of a bot: `BotProcess`, or one served in this process."""

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]: ...


@dataclass
class Reply:
    """The bot's HTTP answer."""

    status: int
    body: bytes
    trigger_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSim(SlackUsers):
    """Sends correctly signed Slack requests on behalf of workspace members."""

    def __init__(self, *, bot: HttpBot, slack: SlackStandIn, signing_secret: str,
                 team_domain: str = "acme") -> None:
        super().__init__(slack=slack, team_domain=team_domain)
        self.bot = bot
        self.signing_secret = signing_secret

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

    def slash_command(self, user_id: str, channel_id: str, text: str = "",
                      **kwargs: Any) -> Reply:
        """Type `/share-secret text` in a channel."""
        form = self.command_form(user_id, channel_id, text)
        reply = self.post(urlencode(form).encode(), **kwargs)
        reply.trigger_id = form["trigger_id"]
        return reply

    def submit(self, user_id: str, view: dict[str, Any], *, recipients: list[str] | None,
               secret: str | None, expiry: str | None = None,
               signing: Mapping[str, str] | None = None, **fields: Any) -> Reply:
        """Fill in the share modal the bot opened and press Share (`fields`: other inputs
        by block id; `signing`: `timestamp` or `secret` overrides for `post`)."""
        payload = self.submission(user_id, view, recipients=recipients, secret=secret,
                                  expiry=expiry, **fields)
        return self.interaction(payload, **(signing or {}))

    def submit_form(self, user_id: str, view: dict[str, Any], values: Mapping[str, Any],
                    **kwargs: Any) -> Reply:
        """Submit any modal the bot opened with these state values."""
        return self.interaction(self.form_submission(user_id, view, values), **kwargs)

    def submit_passphrase(self, user_id: str, view: dict[str, Any], passphrase: str,
                          **kwargs: Any) -> Reply:
        """Type a passphrase into the unlock form the bot opened and submit it."""
        return self.submit_form(user_id, view, {"passphrase": {"text": {
            "type": "plain_text_input", "value": passphrase}}}, **kwargs)

    def click(self, user_id: str, message: Any, button: dict[str, Any],
              **kwargs: Any) -> Reply:
        """Click a button in a message the bot sent."""
        payload = self.block_action(user_id, message, button)
        reply = self.interaction(payload, **kwargs)
        reply.trigger_id = payload["trigger_id"]
        return reply

    def open_home(self, user_id: str, **kwargs: Any) -> Reply:
        """Open the app's Home tab (an Events API delivery, JSON body)."""
        return self.post(json.dumps(self.home_opened(user_id)).encode(),
                         content_type="application/json", **kwargs)

    def click_home(self, user_id: str, element: dict[str, Any], *, block_id: str,
                   value: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
        """Click (or choose in) an element of the user's Home tab."""
        payload = self.home_action(user_id, element, block_id=block_id, value=value)
        reply = self.interaction(payload, **kwargs)
        reply.trigger_id = payload["trigger_id"]
        return reply

    def choose(self, user_id: str, view: dict[str, Any], *, block_id: str, value: str,
               typed: Mapping[str, Any] | None = None, **kwargs: Any) -> Reply:
        """Choose an option of a radio_buttons input that dispatches (in a modal), with
        what was `typed` so far in the form's state."""
        payload = self.view_choice(user_id, view, block_id=block_id, value=value,
                                   typed=typed)
        reply = self.interaction(payload, **kwargs)
        reply.trigger_id = payload["trigger_id"]
        return reply

    def shortcut(self, user_id: str, callback_id: str, **kwargs: Any) -> Reply:
        payload = self.global_shortcut(user_id, callback_id)
        reply = self.interaction(payload, **kwargs)
        reply.trigger_id = payload["trigger_id"]
        return reply
