"""Getting messages to people: privately in the conversation they are in, else by DM."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import SecretRecord
from bot.slack_calls import SLACK_FAILURES, failure_reason


@dataclass(frozen=True)
class DeliveryReport:
    """Who got the Reveal message, and how."""

    ephemeral: tuple[str, ...] = ()
    direct: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


class Delivery:
    """Sends a secret's messages through one Slack client (one workspace)."""

    def __init__(self, client: AsyncWebClient, *, logger: logging.Logger) -> None:
        self._client = client
        self._logger = logger

    async def reveal_prompts(self, record: SecretRecord) -> DeliveryReport:
        """Send every recipient a Reveal message; report who could not be reached."""
        message = render.reveal_prompt(record)
        routes = await asyncio.gather(*(self._send(user, record.origin_channel, message)
                                        for user in record.recipients))
        by_route: dict[str | None, list[str]] = {"ephemeral": [], "direct": [], None: []}
        for user, route in zip(record.recipients, routes, strict=True):
            by_route[route].append(user)
        return DeliveryReport(tuple(by_route["ephemeral"]), tuple(by_route["direct"]),
                              tuple(by_route[None]))

    async def sender_receipt(self, record: SecretRecord, report: DeliveryReport) -> None:
        """Tell the sender to whom the secret went, until when, and its share code."""
        message = render.sender_confirmation(record, failed=report.failed)
        await self._send(record.sender_id, record.origin_channel, message)

    async def _send(self, user: str, channel: str | None,
                    message: dict[str, Any]) -> str | None:
        # Ephemeral first where the conversation is known: the person sees it where they
        # are. It fails when they are not a member (or the bot cannot post there), and
        # then a DM from the bot, which also persists, is the fallback.
        if channel:
            try:
                await self._client.chat_postEphemeral(channel=channel, user=user, **message)
                return "ephemeral"
            except SLACK_FAILURES as exc:
                self._logger.info("ephemeral delivery to %s in %s failed (%s); sending a DM",
                                  user, channel, failure_reason(exc))
        try:
            opened = await self._client.conversations_open(users=user)
            await self._client.chat_postMessage(channel=opened["channel"]["id"], **message)
            return "direct"
        except SLACK_FAILURES as exc:
            self._logger.warning("delivery to %s failed: %s", user, failure_reason(exc))
            return None
