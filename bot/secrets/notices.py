"""Telling people what happened to a secret, after the fact, through Slack.

Shared by the listeners (after a reveal or revoke) and the scheduled sweeps (after an
expiry), so every path words and audits an event the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import owed as audit_owed
from bot.audit.log import AuditLog
from bot.audit.owed import OwedEvent
from bot.domain import AuditAction, AuditEvent, SecretRecord, code_of
from bot.slack.delivery import Delivery, DeliveryReport
from bot.slack.dm_channels import DmChannels


class Events:
    """Audit events about secrets, worded the same on every path (no Slack needed)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def event(self, action: AuditAction, record: SecretRecord | None, *, actor: str,
              team_id: str, detail: str | None = None, channel: str | None = None,
              code: str | None = None, secret_id: str | None = None) -> AuditEvent:
        return AuditEvent(action, at=self._clock(), actor=actor, team_id=team_id,
                          code=record.code if record else code,
                          secret_id=record.secret_id if record else secret_id,
                          channel=channel, detail=detail)

    def revoked_event(self, record: SecretRecord, *, actor: str, by_admin: bool = False,
                      in_flight: int = 0) -> AuditEvent:
        action = AuditAction.SECRET_REVOKED_ADMIN if by_admin else AuditAction.SECRET_REVOKED
        detail = "a view was in progress at that moment" if in_flight else None
        event = self.event(action, record, actor=actor, team_id=record.team_id, detail=detail)
        return dataclasses.replace(event, recipients=record.recipients)

    def created_event(self, record: SecretRecord) -> AuditEvent:
        """A secret was stored: who shared it with whom, until when, with which options."""
        notes = [record.view_limit.describe(len(record.recipients))]
        if record.has_passphrase:
            notes.append("passphrase")
        if record.label:
            notes.append(f"label: {record.label[:60]}")
        return AuditEvent(
            AuditAction.SECRET_CREATED, at=record.created_at, actor=record.sender_id,
            team_id=record.team_id, code=record.code, secret_id=record.secret_id,
            recipients=record.recipients, channel=record.origin_channel,
            expires_at=record.expires_at, detail=", ".join(notes))

    def owed_event(self, owed: OwedEvent, record: SecretRecord | None) -> AuditEvent:
        """An event a change owed (bot.storage.owed), worded as the process that made the
        change would have: for the sweep, when that process stopped first."""
        if record is not None and owed.action is AuditAction.SECRET_CREATED:
            return self.created_event(record)
        if record is not None and owed.action is AuditAction.SECRET_EXPIRED:
            return dataclasses.replace(self.expired_event(record), at=owed.at)
        if record is not None and owed.action in (AuditAction.SECRET_REVOKED,
                                                  AuditAction.SECRET_REVOKED_ADMIN):
            event = self.revoked_event(
                record, actor=owed.actor, in_flight=owed.in_flight,
                by_admin=owed.action is AuditAction.SECRET_REVOKED_ADMIN)
            return dataclasses.replace(event, at=owed.at)
        detail = owed.detail or (audit_owed.BURNED if owed.action is AuditAction.SECRET_BURNED
                                 else None)
        return AuditEvent(owed.action, at=owed.at, actor=owed.actor,
                          team_id=record.team_id if record else owed.team_id or "",
                          code=code_of(owed.handle), secret_id=owed.secret_id,
                          channel=owed.channel, detail=detail)

    def expired_event(self, record: SecretRecord) -> AuditEvent:
        unread = [u for u in record.recipients if u not in record.viewed_at]
        detail = "unread" if len(unread) == len(record.recipients) else \
            f"viewed by {len(record.recipients) - len(unread)} of {len(record.recipients)}"
        event = self.event(AuditAction.SECRET_EXPIRED, record, actor=record.sender_id,
                           team_id=record.team_id, detail=detail)
        return dataclasses.replace(event, recipients=record.recipients)


def created_nonce(record: SecretRecord) -> str:
    """The name of a secret's `secret_created` event, so that a sweep taking over from a
    process that died right after storing it records the event only if it is missing."""
    return audit_owed.created_nonce(record.secret_id)


class Notices(Events):
    """Audit events plus the messages to senders and recipients that go with them,
    through one workspace's client."""

    def __init__(self, client: AsyncWebClient, *, audit: AuditLog, logger: logging.Logger,
                 clock: Callable[[], float] = time.time,
                 dm_channels: DmChannels | None = None) -> None:
        super().__init__(clock=clock)
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
            await self.delivery.dm(record.sender_id,
                                   render.revoked_by_admin_notice(record, admin=actor))

    async def announce(self, record: SecretRecord) -> DeliveryReport:
        """A new secret's Reveal messages, then the sender's receipt naming anyone Slack
        would not let us reach (with Retry and Revoke)."""
        report = await self.delivery.reveal_prompts(record)
        await self.delivery.send(record.sender_id, record.origin_channel,
                                 render.sender_confirmation(record, failed=report.failed))
        return report

    async def expired(self, record: SecretRecord) -> None:
        """After an expiry (already audited): tell the sender, strike out the Reveal DMs
        (nothing for a changed record, as for a revoke)."""
        if record.tampered:
            return
        await self.delivery.dm(record.sender_id, render.expired_notice(record))
        await self._retire_prompts(record, "expired")

    async def remind(self, record: SecretRecord) -> None:
        await self.delivery.dm(record.sender_id,
                               render.reminder_notice(record, now=self._clock()))

    async def _retire_prompts(self, record: SecretRecord, why: str) -> None:
        message = render.ended_prompt(record, why)
        # Ephemeral prompts cannot be edited by the bot; a click on one gets the standard
        # "no longer available". DMs can, so they stop offering a button that cannot work.
        await asyncio.gather(*(self.delivery.update(channel, ts, message)
                               for user, (channel, ts) in record.dm_messages.items()
                               if user not in record.viewed_at))
