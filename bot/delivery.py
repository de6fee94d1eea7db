"""Getting messages to people: privately in the conversation they are in, else by DM."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import SecretRecord
from bot.slack_calls import SLACK_FAILURES, failure_reason

DELIVERY_CONCURRENCY = 8


@dataclass(frozen=True)
class DeliveryReport:
    """Who got the Reveal message, and how; where the DMs are (to update them later)."""

    ephemeral: tuple[str, ...] = ()
    direct: dict[str, tuple[str, str]] = field(default_factory=dict)
    failed: tuple[str, ...] = ()


class Delivery:
    """Sends messages through one Slack client (one workspace)."""

    def __init__(self, client: AsyncWebClient, *, logger: logging.Logger) -> None:
        self._client = client
        self._logger = logger

    async def reveal_prompts(self, record: SecretRecord) -> DeliveryReport:
        """Send every recipient a Reveal message; report who could not be reached."""
        message = render.reveal_prompt(record)
        # A few at a time: conversations.open is rate-limited (Tier 3, ~50 a minute).
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def one(user: str) -> str | tuple[str, str] | None:
            async with slots:
                return await self.send(user, record.origin_channel, message)

        routes = await asyncio.gather(*(one(user) for user in record.recipients))
        ephemeral, direct, failed = [], {}, []
        for user, route in zip(record.recipients, routes, strict=True):
            if route == "ephemeral":
                ephemeral.append(user)
            elif route is None:
                failed.append(user)
            else:
                direct[user] = route
        return DeliveryReport(tuple(ephemeral), direct, tuple(failed))

    async def send(self, user: str, channel: str | None,
                   message: dict[str, Any]) -> str | tuple[str, str] | None:
        """Privately in `channel` if possible ("ephemeral"), else by DM ((channel, ts)).
        None when neither worked."""
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
        return await self.dm(user, message)

    async def dm(self, user: str, message: dict[str, Any]) -> tuple[str, str] | None:
        """A DM from the bot; returns where it is, or None (logged) when it failed."""
        try:
            opened = await self._client.conversations_open(users=user)
            posted = await self._client.chat_postMessage(channel=opened["channel"]["id"],
                                                         **message)
            return posted["channel"], posted["ts"]
        except SLACK_FAILURES as exc:
            self._logger.warning("DM to %s failed: %s", user, failure_reason(exc))
            return None

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        """Replace a message the bot posted (a DM); failures are logged, not raised."""
        try:
            await self._client.chat_update(channel=channel, ts=ts, **message)
        except SLACK_FAILURES as exc:
            self._logger.info("could not update a message: %s", failure_reason(exc))
