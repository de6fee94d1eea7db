"""What `admin audit` shows: a workspace's newest events, about one share code or by one
person, read through the audit log's indexes (never by scanning the stream)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import AuditEvent
from bot.storage.audit_stream import AuditStream

SHOWN = 20  # events `admin audit` lists, newest first


@dataclass(frozen=True)
class AuditQuery:
    """Whose events to list: one workspace's, narrowed to a person or a share code."""

    team_id: str
    actor: str | None = None
    code: str | None = None


async def newest_events(stream: AuditStream, query: AuditQuery, *,
                        count: int = SHOWN) -> list[AuditEvent]:
    """The newest `count` events that match, newest first."""
    if query.actor is not None:
        return await stream.find(query.team_id, actor=query.actor, count=count)
    return await stream.find(query.team_id, code=query.code, count=count)
