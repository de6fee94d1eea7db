"""Slack's side of the conversation over Socket Mode: the same payloads `SlackSim` signs
and POSTs, delivered instead as envelopes on the bot's websocket, and the
acknowledgements the bot sends back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devtools.harness.payloads import SlackUsers
from devtools.slack_stand_in import SlackStandIn


@dataclass
class SocketReply:
    """The bot's acknowledgement of one envelope."""

    envelope_id: str
    ack: dict[str, Any]
    trigger_id: str | None = None

    @property
    def payload(self) -> Any:
        """What HTTP mode would have answered in the body (None for an empty answer)."""
        return self.ack.get("payload")


class SocketSim(SlackUsers):
    """Sends Slack's envelopes on behalf of workspace members and waits for the acks.

    `ack_timeout` is Slack's 3 seconds: an envelope acknowledged later has failed.
    """

    def __init__(self, *, slack: SlackStandIn, team_domain: str = "acme",
                 ack_timeout: float = 3.0) -> None:
        super().__init__(slack=slack, team_domain=team_domain)
        self.ack_timeout = ack_timeout

    def send(self, type: str, payload: dict[str, Any]) -> SocketReply:
        """Deliver one envelope and wait for the bot to acknowledge it."""
        envelope_id = self.slack.socket.send_envelope(type, payload)
        return SocketReply(envelope_id, self.slack.socket.wait_ack(envelope_id,
                                                                   self.ack_timeout))

    def slash_command(self, user_id: str, channel_id: str, text: str = "") -> SocketReply:
        """Type `/share-secret text` in a channel."""
        form = self.command_form(user_id, channel_id, text)
        reply = self.send("slash_commands", form)
        reply.trigger_id = form["trigger_id"]
        return reply

    def submit(self, user_id: str, view: dict[str, Any], *, recipients: list[str] | None,
               secret: str | None, expiry: str | None = None, **fields: Any) -> SocketReply:
        """Fill in the share modal the bot opened and press Share (`fields`: other inputs
        by block id)."""
        return self.send("interactive", self.submission(
            user_id, view, recipients=recipients, secret=secret, expiry=expiry, **fields))

    def submit_form(self, user_id: str, view: dict[str, Any],
                    values: Mapping[str, Any]) -> SocketReply:
        """Submit any modal the bot opened with these state values."""
        return self.send("interactive", self.form_submission(user_id, view, values))

    def click(self, user_id: str, message: Any, button: dict[str, Any]) -> SocketReply:
        """Click a button in a message the bot sent."""
        payload = self.block_action(user_id, message, button)
        reply = self.send("interactive", payload)
        reply.trigger_id = payload["trigger_id"]
        return reply
