"""Operator commands: `audit export` and `admin stats`. Read-only, metadata only."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import TextIO

from bot.config import Settings
from bot.domain import AuditEvent, code_of
from bot.errors import ConfigError
from bot.storage import KeySpace, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.connection import RedisClient

CHUNK = 1000
PROGRESS_EVERY = 10_000


# An event's id is the time it was stored, a moment after it happened: ids are read with
# this margin and events then filtered by the time they happened.
ID_MARGIN_SECONDS = 3600


def parse_when(text: str | None, *, name: str) -> float | None:
    """An ISO date or time as Unix seconds; naive times are UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO date or time, e.g. 2026-11-01 or "
                          "2026-11-01T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def as_json(event: AuditEvent) -> str:
    return json.dumps({
        "id": event.event_id, "at": datetime.fromtimestamp(event.at, UTC).isoformat(),
        "event": event.action.value, "code": event.code, "secret_id": event.secret_id,
        "actor": event.actor, "team": event.team_id, "recipients": list(event.recipients),
        "channel": event.channel, "detail": event.detail}, separators=(",", ":"))


async def reindex_audit(settings: Settings, *, out: TextIO = sys.stdout) -> int:
    """Index the audit events stored before the lookup indexes existed (once, after the
    upgrade; harmless again); returns how many events were read."""
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    stream = AuditStream(client, prefix=settings.redis_key_prefix,
                         retention_seconds=settings.audit_retention_days * 86400)
    try:
        done = await stream.reindex()
    finally:
        await client.aclose()
    out.write(f"Indexed {done} audit events: `admin audit` finds them by code and person.\n")
    return done


async def export_audit(settings: Settings, *, since: str | None, until: str | None,
                       event: str | None, actor: str | None, out: TextIO = sys.stdout,
                       progress: TextIO = sys.stderr) -> int:
    """Write the audit events in range as JSON Lines; returns how many were written."""
    after, before = parse_when(since, name="--since"), parse_when(until, name="--until")
    start = "-" if after is None else str(int((after - ID_MARGIN_SECONDS) * 1000))
    end = "+" if before is None else str(int((before + ID_MARGIN_SECONDS) * 1000))
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    stream = AuditStream(client, prefix=settings.redis_key_prefix,
                         retention_seconds=settings.audit_retention_days * 86400)
    written = 0
    try:
        while True:
            batch = await stream.between(start, end, count=CHUNK)
            for item in batch:
                if (event is None or item.action.value == event) and (
                        actor is None or item.actor == actor) and (
                        after is None or item.at >= after) and (
                        before is None or item.at <= before):
                    out.write(as_json(item) + "\n")
                    written += 1
                    if written % PROGRESS_EVERY == 0:
                        progress.write(f"exported {written} events...\n")
            if len(batch) < CHUNK:
                break
            start = f"({batch[-1].event_id}"
    finally:
        await client.aclose()
    if written >= PROGRESS_EVERY:
        progress.write(f"exported {written} events in all\n")
    return written


async def admin_stats(settings: Settings, *, out: TextIO = sys.stdout) -> None:
    """Counts of secrets by status and the oldest active one (scans the metadata)."""
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    try:
        counts, oldest = await _scan(client, settings.redis_key_prefix)
    finally:
        await client.aclose()
    out.write("Secrets by status:\n")
    for status in ("active", "burned", "expired", "revoked"):
        out.write(f"  {status:<8} {counts.get(status, 0)}\n")
    if oldest:
        created, code = oldest
        out.write(f"Oldest active secret: {code}, shared "
                  f"{datetime.fromtimestamp(created, UTC).isoformat()}\n")
    else:
        out.write("No active secrets.\n")


async def _scan(client: RedisClient, prefix: str) -> tuple[Counter[str],
                                                               tuple[float, str] | None]:
    counts: Counter[str] = Counter()
    oldest: tuple[float, str] | None = None
    keys: list[bytes] = []
    async for key in client.scan_iter(match=KeySpace(prefix).every_meta(), count=1000):
        keys.append(key)
        if len(keys) >= CHUNK:
            oldest = await _tally(client, keys, counts, oldest)
            keys = []
    return counts, await _tally(client, keys, counts, oldest)


async def _tally(client: RedisClient, keys: list[bytes], counts: Counter[str],
                 oldest: tuple[float, str] | None) -> tuple[float, str] | None:
    async with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, "st", "at", "id")
        rows = await pipe.execute()
    for status, created, secret_id in rows:
        if status is None:
            continue
        counts[status.decode()] += 1
        if status == b"active" and (oldest is None or float(created) < oldest[0]):
            oldest = (float(created), code_of(secret_id.decode()))
    return oldest
