"""Telling people what happened to a secret, after the fact, through Slack.

Shared by the listeners (after a reveal or revoke) and the scheduled sweeps (after an
expiry), so every path tells people the same way; whatever is for a secret's sender goes
through Delivery.to_sender (which knows where a non-Slack sender's notices go). The audit
events themselves are worded in bot.audit.events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit.log import AuditLog
from bot.domain import AuditEvent, SecretRecord
from bot.slack.delivery import Delivery, DeliveryReport
from bot.slack.dm_channels import DmChannels


class Notices:
    """Audit events plus the messages to senders and recipients that go with them,
    through one workspace's client."""

    def __init__(self, client: AsyncWebClient, *, audit: AuditLog, logger: logging.Logger,
                 clock: Callable[[], float] = time.time,
                 dm_channels: DmChannels | None = None) -> None:
        self._clock = clock
        self.delivery = Delivery(client, logger=logger, dm_channels=dm_channels)
        self._audit = audit

    async def audit(self, event: AuditEvent) -> None:
        await self._audit.record(event)

    async def revoked(self, record: SecretRecord, *, actor: str, by_admin: bool = False) -> None:
        """After a revoke (already audited): strike out the recipients' Reveal DMs, and
        when an admin did it, tell the sender. Nothing for a changed record: its sender,
        label and DMs are not to be trusted (text chosen in Redis, to people chosen
        there); it is revoked and audited all the same."""
        if record.tampered:
            return
        await self._retire_prompts(record, "was revoked")
        if by_admin and actor != record.sender_id:
            await self.delivery.to_sender(record,
                                          render.revoked_by_admin_notice(record, admin=actor))

    async def announce(self, record: SecretRecord) -> DeliveryReport:
        """A new secret's Reveal messages, then the sender's receipt naming anyone Slack
        would not let us reach (with Retry and Revoke), where the sender's notices go."""
        report = await self.delivery.reveal_prompts(record)
        await self.delivery.to_sender(record,
                                      render.sender_confirmation(record, failed=report.failed),
                                      channel=record.origin_channel)
        return report

    async def expired(self, record: SecretRecord) -> None:
        """After an expiry (already audited): tell the sender, strike out the Reveal DMs
        (nothing for a changed record, as for a revoke)."""
        if record.tampered:
            return
        await self.delivery.to_sender(record, render.expired_notice(record))
        await self._retire_prompts(record, "expired")

    async def remind(self, record: SecretRecord) -> None:
        await self.delivery.to_sender(record,
                                      render.reminder_notice(record, now=self._clock()))

    async def _retire_prompts(self, record: SecretRecord, why: str) -> None:
        message = render.ended_prompt(record, why)
        # Ephemeral prompts cannot be edited by the bot; a click on one gets the standard
        # "no longer available". DMs can, so they stop offering a button that cannot work.
        await asyncio.gather(*(self.delivery.update(channel, ts, message)
                               for user, (channel, ts) in record.dm_messages.items()
                               if user not in record.viewed_at))
