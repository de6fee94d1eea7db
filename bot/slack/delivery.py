"""Getting messages to people: privately in the conversation they are in, else by DM."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import SecretRecord, is_slack_user
from bot.slack.calls import SLACK_FAILURES, failure_reason, without_retries
from bot.slack.dm_channels import STALE_ERRORS, DmChannels
from bot.slack.retry import retried

DELIVERY_CONCURRENCY = 8
# One attempt; a timed-out attempt is retried (bot.slack.retry), a few times at most.
CALL_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class DeliveryReport:
    """Who got the Reveal message, and how; where the DMs are (to update them later)."""

    ephemeral: tuple[str, ...] = ()
    direct: dict[str, tuple[str, str]] = field(default_factory=dict)
    failed: tuple[str, ...] = ()


class SenderOf(Protocol):
    """Whose secret it is, and where their notices go (a SecretRecord, a RevealResult)."""

    @property
    def sender_id(self) -> str | None: ...
    @property
    def receipts_to(self) -> str | None: ...


class Delivery:
    """Sends messages through one Slack client (one workspace)."""

    def __init__(self, client: AsyncWebClient, *, logger: logging.Logger,
                 dm_channels: DmChannels | None = None) -> None:
        # Retried here, by one policy (bot.slack.retry), not by the SDK's handlers.
        self._client = without_retries(client, timeout=CALL_TIMEOUT_SECONDS)
        self._logger = logger
        self._dms = dm_channels if dm_channels is not None else DmChannels()

    async def reveal_prompts(self, record: SecretRecord,
                             only: Sequence[str] | None = None) -> DeliveryReport:
        """Send every recipient in Slack (or `only` those) a Reveal message; report who
        could not be reached. A `tampered` record (its seal failed) is sent to nobody."""
        if record.tampered:
            self._logger.warning("no Reveal message for a secret whose metadata failed its "
                                 "integrity check")
            return DeliveryReport()
        message = render.reveal_prompt(record)
        # People outside Slack (an address, the link's holder) open it on the web page.
        users = tuple(u for u in (record.recipients if only is None else only)
                      if is_slack_user(u))
        # A few at a time: conversations.open is rate-limited (Tier 3, ~50 a minute).
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def one(user: str) -> str | tuple[str, str] | None:
            async with slots:
                return await self.send(user, record.origin_channel, message)

        routes = await asyncio.gather(*(one(user) for user in users))
        ephemeral: list[str] = []
        direct: dict[str, tuple[str, str]] = {}
        failed: list[str] = []
        for user, route in zip(users, routes, strict=True):
            if isinstance(route, tuple):  # a DM: (channel, ts)
                direct[user] = route
            elif route is None:
                failed.append(user)
            else:  # "ephemeral"
                ephemeral.append(user)
        return DeliveryReport(tuple(ephemeral), direct, tuple(failed))

    async def to_sender(self, secret: SenderOf, message: dict[str, Any], *,
                        channel: str | None = None) -> str | tuple[str, str] | None:
        """A message for a secret's sender, the one way every such message goes. A Slack
        sender gets it as `send` gives it (privately in `channel` when given, else by
        DM). A sender who is not a Slack user (an API token) has it at its
        `receipts_to`: a post in that channel, or that person's DM; or nowhere, without
        one (its audit events still reach the audit channel). Returns where it went, as
        `send` does; None when nowhere, or it failed (logged)."""
        sender = secret.sender_id
        if not sender:
            return None
        # A sender's notices are never edited afterwards: a DM needs no channel id first.
        if is_slack_user(sender):
            return await self.send(sender, channel, message, edited_later=False)
        target = secret.receipts_to
        if target is None:
            return None
        message = render.for_sender_elsewhere(message, sender=sender)
        if is_slack_user(target):
            return await self.dm(target, message, edited_later=False)
        try:
            return await self._post(target, message)
        except SLACK_FAILURES as exc:
            self._logger.warning("a receipt to %s failed: %s", target, failure_reason(exc))
            return None

    async def send(self, user: str, channel: str | None, message: dict[str, Any], *,
                   edited_later: bool = True) -> str | tuple[str, str] | None:
        """Privately in `channel` if possible ("ephemeral"), else by DM ((channel, ts), as
        `dm` sends it). None when neither worked."""
        # Ephemeral first where the conversation is known: the person sees it where they
        # are. It fails when they are not a member (or the bot cannot post there), and
        # then a DM from the bot, which also persists, is the fallback.
        if channel:
            try:
                await retried(lambda: self._client.chat_postEphemeral(
                    channel=channel, user=user, **message))
                return "ephemeral"
            except SLACK_FAILURES as exc:
                self._logger.info("ephemeral delivery to %s in %s failed (%s); sending a DM",
                                  user, channel, failure_reason(exc))
        return await self.dm(user, message, edited_later=edited_later)

    async def dm(self, user: str, message: dict[str, Any], *,
                 edited_later: bool = True) -> tuple[str, str] | None:
        """A DM from the bot; returns where it is, or None (logged) when it failed.

        A message that may be `edited_later` (a Reveal message, retired when its secret
        ends) needs its DM's channel id, which chat.update insists on: conversations.open
        gives it, once per person (then remembered). One that is never edited (a sender's
        receipt or notice) is posted to the person's id, which chat.postMessage puts in
        the bot's DM with them: no call first, and conversations.open's Tier 3 limit is
        kept for the Reveal messages."""
        token = self._client.token or ""
        try:
            known = self._dms.get(token, user)
            if known is not None:
                try:
                    return await self._post(known, message)
                except SlackApiError as exc:
                    if exc.response.get("error") not in STALE_ERRORS:
                        raise
                    # The remembered DM no longer works (Slack says so): open it again, once.
                    self._dms.forget(token, user, known)
            if not edited_later:
                posted = await self._post(user, message)
                if posted[0].startswith("D"):  # the DM's id: remembered for the next
                    self._dms.put(token, user, posted[0])
                return posted
            opened = await retried(lambda: self._client.conversations_open(users=user))
            channel = opened["channel"]["id"]
            self._dms.put(token, user, channel)
            return await self._post(channel, message)
        except SLACK_FAILURES as exc:
            self._logger.warning("DM to %s failed: %s", user, failure_reason(exc))
            return None

    async def _post(self, channel: str, message: dict[str, Any]) -> tuple[str, str]:
        posted = await retried(lambda: self._client.chat_postMessage(channel=channel,
                                                                     **message))
        return posted["channel"], posted["ts"]

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        """Replace a message the bot posted (a DM); failures are logged, not raised."""
        try:
            await retried(lambda: self._client.chat_update(channel=channel, ts=ts, **message))
        except SLACK_FAILURES as exc:
            self._logger.info("could not update a message: %s", failure_reason(exc))
