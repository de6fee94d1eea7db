"""Audit events owed by a state change, kept in the secret's own slot until appended.

A Lua script that changes a secret (CREATE, END: bot.storage.secrets_store_lua; CONFIRM,
RELEASE_VIEW, RETURN_STALE: bot.storage.secret_views_lua) notes, in the same atomic step,
the audit event the change implies: a field of the secret's owed hash, named by a nonce.
(In Redis Cluster a script cannot reach the {audit} stream, which lives in another slot.)
The process that made the change appends the event to the stream under that nonce and then
settles it (HDEL). A process killed in between leaves the entry, and the owed index
(written in the same round trip as the change) lets the sweep find it and append it: once,
since appends with a nonce look for it first (bot.storage.audit_stream.APPEND_ONCE).
The nonces: bot.audit.owed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from bot.audit.owed import OwedEvent
from bot.domain import AuditAction
from bot.storage import replies
from bot.storage.connection import RedisClient, script_client
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace
from bot.storage.lua import FORGET_UNLESS_NEWER

# KEYS[1] a secret's owed events; ARGV[1] cutoff, ARGV[2] now (unix seconds)
# -> {nonce, entry, ...}: the events owed (or last taken) at or before the cutoff, now
#    marked taken (w: when), so no other sweep takes them until they are stale again
TAKE_OWED = """
local found = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, entry = pcall(cjson.decode, all[i + 1])
  if ok and type(entry) == 'table' and tonumber(entry.w or entry.t or 0) <= tonumber(ARGV[1]) then
    entry.w = tonumber(ARGV[2])
    redis.call('HSET', KEYS[1], all[i], cjson.encode(entry))
    table.insert(found, all[i])
    table.insert(found, all[i + 1])
  end
end
return found
"""


class OwedEvents:
    """Find, take and settle owed events (the process's and the sweep's side)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._take = redis.register_script(TAKE_OWED)
        self._forget = redis.register_script(FORGET_UNLESS_NEWER)

    @unavailable_on_redis_errors
    async def settle(self, secret_id: str, *nonces: str) -> None:
        """The events are in the stream: nothing is owed for them any more."""
        await self._redis.hdel(self._keys.owed(secret_id), *nonces)

    @unavailable_on_redis_errors
    async def settle_all(self, nonces: Mapping[str, Sequence[str]]) -> None:
        """`settle` for several secrets' events (by secret id), in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for secret_id, names in nonces.items():
                pipe.hdel(self._keys.owed(secret_id), *names)
            await pipe.execute()

    @unavailable_on_redis_errors
    async def take_due(self, *, cutoff: float, now: float, limit: int) -> list[OwedEvent]:
        """Events owed since `cutoff` or earlier (their process died, or could not reach
        the stream), oldest first per secret; each is taken by one caller (until it is
        stale again, should that caller die too)."""
        names = replies.texts(await self._redis.zrangebyscore(
            self._keys.owed_index(), "-inf", cutoff, start=0, num=limit))
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                await self._take(keys=[self._keys.owed(name)], args=[cutoff, int(now)],
                                 client=script_client(pipe))
            taken = await pipe.execute()
        found = []
        for name, answer in zip(names, taken, strict=True):
            flat = [replies.raw(v) for v in replies.array(answer)]
            events = [_owed(name, flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
            found += sorted((e for e in events if e is not None), key=lambda e: e.order)
        return found

    @unavailable_on_redis_errors
    async def forget_settled(self, *, cutoff: float, limit: int) -> int:
        """Drop index entries whose secret owes nothing any more. Only entries still at
        or before `cutoff`: a change since then wrote its entry again (and may owe)."""
        names = replies.texts(await self._redis.zrangebyscore(
            self._keys.owed_index(), "-inf", cutoff, start=0, num=limit))
        if not names:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self._keys.owed(name))
            owing = await pipe.execute()
        done = [name for name, left in zip(names, owing, strict=True) if not left]
        if not done:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in done:
                await self._forget(keys=[self._keys.owed_index()], args=[name, cutoff],
                                   client=script_client(pipe))
            return sum(int(r) for r in await pipe.execute())


def _owed(name: str, nonce: bytes, raw: bytes) -> OwedEvent | None:
    try:
        fields = json.loads(raw)
        return OwedEvent(
            handle=name, nonce=nonce.decode(), action=AuditAction(fields["a"]),
            at=float(fields["t"]), actor=str(fields["u"]), secret_id=fields.get("i"),
            team_id=fields.get("k"), detail=fields.get("d"), channel=fields.get("c"),
            in_flight=int(fields.get("f", 0)), order=(str(fields["o"]), int(fields["q"])))
    except (KeyError, ValueError, TypeError):
        return None  # written by a newer version: left for it
