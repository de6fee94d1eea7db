"""The web page's audit events: each with its mode ("external"), the client's IP and a
shortened user agent (bot.secrets.web_reveal records them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.audit import events as audit_events
from bot.audit.log import AuditLog
from bot.domain import AuditAction, AuditEvent, SecretRecord
from bot.secrets.external import WebClient
from bot.secrets.reveal import RevealResult


class WebAudit:
    def __init__(self, audit: AuditLog, *, clock: Callable[[], float] = time.time) -> None:
        self._audit = audit
        self._clock = clock

    def event(self, action: AuditAction, record: SecretRecord, actor: str, client: WebClient,
              detail: str | None = None) -> AuditEvent:
        return external(AuditEvent(action, at=self._clock(), actor=actor,
                                   team_id=record.team_id, code=record.code,
                                   secret_id=record.secret_id, detail=detail), client)

    async def record(self, event: AuditEvent) -> None:
        await self._audit.record(event)

    async def record_all(self, events: Sequence[tuple[AuditEvent, str | None]], *,
                         contexts: Sequence[Mapping[str, str]] | None = None) -> None:
        await self._audit.record_all(events, contexts=contexts)

    async def denied(self, record: SecretRecord, actor: str, client: WebClient,
                     detail: str) -> None:
        await self.record(self.event(AuditAction.ACCESS_DENIED, record, actor, client, detail))

    async def reveal(self, record: SecretRecord, principal: str, client: WebClient,
                     result: RevealResult) -> None:
        """What a reveal owes the audit log, as a Slack reveal's (bot.audit.events), from
        the web."""
        await self._audit.record_all(self.reveal_events(record, principal, client, result))

    def reveal_events(self, record: SecretRecord, principal: str, client: WebClient,
                      result: RevealResult) -> list[tuple[AuditEvent, str | None]]:
        owed = audit_events.reveal_attempt(
            result, secret_id=record.secret_id, user_id=principal, team_id=record.team_id,
            channel=None, at=self._clock())
        return [(external(event, client), nonce) for event, nonce in owed]


def external(event: AuditEvent, client: WebClient) -> AuditEvent:
    return replace(event, mode="external", client_ip=client.ip, user_agent=client.user_agent)
