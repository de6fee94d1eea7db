"""The audit log's system of record: a Redis Stream. Events are appended (XADD) before
anything is posted to Slack; delivering them (the lease and the outbox cursor) is
bot.storage.audit_delivery's part.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence

from bot.domain import AuditAction, AuditEvent
from bot.storage import replies
from bot.storage.audit_delivery import AuditDelivery
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import AuditKeys

# Each entry's id is also added, in the same step, to indexes of its workspace, its actor
# and its share code (sorted sets scored by the id's milliseconds, trimmed and expiring
# with the stream's retention), so that an admin's lookup reads a secret's or a person's
# events directly, however many others were logged since. ARGV[1] is the MINID; the
# indexes are KEYS[3..].
_INDEX = """
local ms = tonumber(string.match(id, '^(%d+)'))
local oldest = '(' .. string.match(ARGV[1], '^(%d+)')
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], ms, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', oldest)
  redis.call('PEXPIRE', KEYS[i], ARGV[RETENTION])
end
"""

# Every entry carries a nonce, and a mark (a key of its own, holding the entry's id) names
# it for MARK_MS: a retried append looks up the mark, one read, where it used to scan
# the stream from its first try on, reading every event since (a sweep taking over a
# dead process's events after minutes paid that for each, with the server blocked).
# KEYS[1] stream, KEYS[2] the nonce's mark, KEYS[3..] the entry's indexes;
# ARGV[1] MINID, ARGV[2] mark ms, ARGV[3] retention ms, ARGV[4] the field/value pairs as a
# JSON array (one argument, not twenty: each argument costs the client its encoding)
# -> the new entry's id
APPEND = """
local id = redis.call('XADD', KEYS[1], 'MINID', '=', ARGV[1], '*', unpack(cjson.decode(ARGV[4])))
redis.call('SET', KEYS[2], id, 'PX', ARGV[2])
""" + _INDEX.replace("RETENTION", "3") + """
return id
"""

# KEYS[1] stream, KEYS[2] the nonce's mark, KEYS[3..] the entry's indexes; ARGV[1] MINID,
# ARGV[2] the event's nonce, ARGV[3] the id to look from (ms), ARGV[4] mark ms,
# ARGV[5] retention ms, ARGV[6..] field/value pairs
# -> the id of the entry with that nonce, appended if absent (a retry after an append
# whose answer was lost, say as Redis shut down, stores nothing twice). Only an entry
# older than the marks (or written before there were marks) is looked for in the stream,
# and only among those older entries.
APPEND_ONCE = """
local found = redis.call('GET', KEYS[2])
if found then return found end
local clock = redis.call('TIME')
local unmarked = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  - tonumber(ARGV[4])
if tonumber(ARGV[3]) <= unmarked then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[3], unmarked)) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'n' and fields[i + 1] == ARGV[2] then return entry[1] end
    end
  end
end
local id = redis.call('XADD', KEYS[1], 'MINID', '=', ARGV[1], '*', unpack(ARGV, 6))
redis.call('SET', KEYS[2], id, 'PX', ARGV[4])
""" + _INDEX.replace("RETENTION", "5") + """
return id
"""

# How long a nonce's mark lasts: longer than a process retries an append
# (bot.audit.log.RETRY_SECONDS) and than a sweep waits to take over a dead process's events.
# Two hours covers both (an hour of retries; a claim timeout of an hour at most), and a
# retry older than its mark still finds its entry, by reading the stream's older part.
# Every audit event has a mark (about 140 bytes of Redis): they are kept no longer than that.
MARK_MS = 2 * 3600 * 1000

class AuditStream(AuditDelivery):
    """Append, read and find audit events; delivering them is AuditDelivery's part."""

    def __init__(self, redis: RedisClient, *, prefix: str, retention_seconds: int) -> None:
        super().__init__(redis, keys=AuditKeys(prefix))
        self._retention_ms = retention_seconds * 1000
        self._append = redis.register_script(APPEND)
        self._append_once = redis.register_script(APPEND_ONCE)

    @unavailable_on_redis_errors
    async def append(self, event: AuditEvent, *, nonce: str | None = None,
                     retry_since: float | None = None) -> str:
        """Store an event; returns its id. Entries older than the retention are trimmed.

        `nonce` tags the entry; an append retried with `retry_since` (a time before the
        first try) stores nothing when an entry with that nonce is already there.
        """
        nonce = nonce or secrets.token_hex(8)  # every entry is marked and indexed alike
        oldest, fields = self._entry(event, nonce)
        keys = [self._keys.stream, self._keys.mark(nonce), *self._keys.indexes(event)]
        if retry_since is not None:
            pairs = [item for pair in fields.items() for item in pair]
            found = await self._append_once(
                keys=keys, args=[oldest, nonce, max(0, int(retry_since * 1000)), MARK_MS,
                                 self._retention_ms, *pairs])
            return replies.text(found)
        # Exact trimming: MINID only ever removes from the head, so it costs what it trims.
        return replies.text(await self._append(
            keys=keys, args=[oldest, MARK_MS, self._retention_ms, _packed(fields)]))

    @unavailable_on_redis_errors
    async def append_all(self, events: Sequence[tuple[AuditEvent, str]]) -> list[str]:
        """`append` (without `retry_since`) for several events, each with its nonce and
        mark, in one round trip and in this order; their ids. An error may leave some
        stored: retry each with `retry_since` (its mark finds it)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for event, nonce in events:
                oldest, fields = self._entry(event, nonce)
                # By its text (EVAL): a registered script queued in a pipeline first costs
                # a round trip of its own (SCRIPT EXISTS).
                keys = [self._keys.stream, self._keys.mark(nonce), *self._keys.indexes(event)]
                pipe.eval(APPEND, len(keys), *keys, oldest, MARK_MS, self._retention_ms,
                          _packed(fields))
            return [replies.text(i) for i in await pipe.execute()]

    def _entry(self, event: AuditEvent, nonce: str | None) -> tuple[str, dict[str, str]]:
        """The stream's trim point for `event` (MINID: older than the retention) and the
        entry's fields, tagged with `nonce` when there is one."""
        oldest = f"{max(0, int(event.at * 1000) - self._retention_ms)}-0"
        return oldest, encode(event) | ({"n": nonce} if nonce else {})

    @unavailable_on_redis_errors
    async def after(self, event_id: str, *, count: int) -> list[AuditEvent]:
        """Up to `count` events after `event_id`, oldest first."""
        entries = replies.stream_entries(await self._redis.xrange(
            self._keys.stream, f"({event_id}", "+", count=count))
        return [decode(i, f) for i, f in entries]

    @unavailable_on_redis_errors
    async def between(self, start: str = "-", end: str = "+", *,
                      count: int) -> list[AuditEvent]:
        """Events with ids in [start, end] (ids or millisecond times), oldest first."""
        entries = replies.stream_entries(await self._redis.xrange(
            self._keys.stream, start, end, count=count))
        return [decode(i, f) for i, f in entries]

    @unavailable_on_redis_errors
    async def latest(self, *, count: int, before: str = "+") -> list[AuditEvent]:
        """The newest events (before an id), newest first."""
        entries = replies.stream_entries(await self._redis.xrevrange(
            self._keys.stream, before, "-", count=count))
        return [decode(i, f) for i, f in entries]

    @unavailable_on_redis_errors
    async def find(self, team_id: str, *, code: str | None = None, actor: str | None = None,
                   count: int) -> list[AuditEvent]:
        """A workspace's newest events (about one share code, or by one person), newest
        first: read through the indexes, so they are found however many other events
        were logged since."""
        key = (self._keys.by_code(team_id, code) if code is not None
               else self._keys.by_actor(team_id, actor) if actor is not None
               else self._keys.by_team(team_id))
        ids = [replies.text(i) for i in await self._redis.zrevrange(key, 0, count - 1)]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for event_id in ids:
                pipe.xrange(self._keys.stream, event_id, event_id, count=1)
            found = [entry for reply in await pipe.execute()
                     for entry in replies.stream_entries(reply)]
        # Trimmed entries are skipped; ids with the same millisecond sort by sequence.
        found.sort(key=lambda entry: tuple(int(p) for p in entry[0].split("-")), reverse=True)
        return [decode(i, f) for i, f in found]

    @unavailable_on_redis_errors
    async def reindex(self, *, page: int = 1000) -> int:
        """Put every stored event in its lookup indexes (events stored by releases before
        the indexes had none); idempotent. How many events were read."""
        start, done = "-", 0
        while True:
            batch = await self.between(start, "+", count=page)
            if not batch:
                return done
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in batch:
                    assert event.event_id is not None  # read from the stream
                    ms = int(event.event_id.split("-")[0])
                    for key in self._keys.indexes(event):
                        pipe.zadd(key, {event.event_id: ms})
                        pipe.pexpire(key, self._retention_ms)
                await pipe.execute()
            done += len(batch)
            if len(batch) < page:
                return done
            start = f"({batch[-1].event_id}"

    @unavailable_on_redis_errors
    async def length(self) -> int:
        return int(await self._redis.xlen(self._keys.stream))


def _packed(fields: Mapping[str, str]) -> str:
    """An entry's field/value pairs as APPEND takes them: a JSON array, in order."""
    return json.dumps([item for pair in fields.items() for item in pair], ensure_ascii=False)


def encode(event: AuditEvent) -> dict[str, str]:
    fields = {"event": event.action.value, "at": f"{event.at:.3f}", "actor": event.actor,
              "team": event.team_id}
    optional: Mapping[str, str | None] = {
        "code": event.code, "secret_id": event.secret_id,
        "recipients": ",".join(event.recipients) or None, "channel": event.channel,
        "expires_at": f"{event.expires_at:.0f}" if event.expires_at else None,
        "detail": event.detail, "mode": event.mode, "ip": event.client_ip,
        "ua": event.user_agent}
    fields.update({k: v for k, v in optional.items() if v})
    return fields


def decode(event_id: bytes | str, raw: Mapping[bytes, bytes]) -> AuditEvent:
    """An event from its stream entry. An entry this version cannot read (written by a
    newer one, say) becomes an UNREADABLE event naming what it was, never an error: one
    odd entry must not stop the audit log."""
    fields = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in raw.items()}
    try:
        return _decoded(event_id, fields)
    except (KeyError, ValueError):
        return AuditEvent(AuditAction.UNREADABLE, at=_float(fields.get("at")),
                          actor=fields.get("actor", "?"), team_id=fields.get("team", "?"),
                          code=fields.get("code"), detail=f"event {fields.get('event', '?')}",
                          event_id=event_id.decode() if isinstance(event_id, bytes)
                          else event_id)


def _float(value: str | None) -> float:
    try:
        return _time(value or "0")
    except ValueError:
        return 0.0


def _time(value: str) -> float:
    when = float(value)
    if not math.isfinite(when) or not 0 <= when < 1e11:
        raise ValueError("not a time")
    return when


def _decoded(event_id: bytes | str, fields: Mapping[str, str]) -> AuditEvent:
    return AuditEvent(
        AuditAction(fields["event"]), at=_time(fields["at"]), actor=fields["actor"],
        team_id=fields["team"], code=fields.get("code"), secret_id=fields.get("secret_id"),
        recipients=tuple(r for r in fields.get("recipients", "").split(",") if r),
        channel=fields.get("channel"),
        expires_at=_time(fields["expires_at"]) if "expires_at" in fields else None,
        detail=fields.get("detail"), mode=fields.get("mode"), client_ip=fields.get("ip"),
        user_agent=fields.get("ua"),
        event_id=event_id.decode() if isinstance(event_id, bytes) else event_id)
