"""Audit events: what happened to which secret, by whom. Never any content.

Events are logged and posted to the admin channel. `AuditLog` is the seam: the
handlers only ever call `record`, so a durable log can replace the direct post.
"""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.domain import AuditAction, AuditEvent
from bot.slack_calls import SLACK_FAILURES, failure_reason

__all__ = ["AuditAction", "AuditEvent", "AuditLog", "SlackAuditChannel"]


class AuditLog(Protocol):
    """Where audit events go."""

    async def record(self, event: AuditEvent) -> None:
        """Record one event; must not raise for delivery problems."""
        ...


class SlackAuditChannel:
    """Logs every event and posts it, readable, to the admin channel (when one is set)."""

    def __init__(self, client: AsyncWebClient, *, channel_id: str | None,
                 logger: logging.Logger) -> None:
        self._client = client
        self._channel_id = channel_id
        self._logger = logger

    async def record(self, event: AuditEvent) -> None:
        self._logger.info(
            "audit %s code=%s actor=%s team=%s", event.action.value, event.code, event.actor,
            event.team_id, extra={"audit": _fields(event)})
        if not self._channel_id:
            return
        message = render.audit_message(event)
        try:
            await self._client.chat_postMessage(channel=self._channel_id, **message)
        except SLACK_FAILURES as exc:
            self._logger.error("audit post of %s failed: %s", event.action.value,
                               failure_reason(exc))


def _fields(event: AuditEvent) -> dict[str, object]:
    return {
        "event": event.action.value, "at": event.at, "actor": event.actor,
        "team": event.team_id, "code": event.code, "secret_id": event.secret_id,
        "recipients": list(event.recipients), "channel": event.channel,
        "detail": event.detail,
    }
