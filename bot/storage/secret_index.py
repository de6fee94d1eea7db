"""Browsing secrets and their indexes: reading metadata, the sender and team indexes, the
expiry index, the reminder cursor, and the deliveries still owed (RedisSecretStore hands
these calls here)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from redis.asyncio.cluster import RedisCluster

from bot.crypto import KeyRing
from bot.domain import HANDLE_LEN, SecretRecord
from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.secret_fields import record_from

# Entries this fresh are kept even when their secret is not there (yet): the index is
# written just before the secret itself.
INDEX_GRACE_SECONDS = 60

# KEYS[1] meta hash; no ARGV
# -> 1 for the first caller while the secret exists, else 0
REMIND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'rem', '1')
"""

# KEYS[1] meta hash
# ARGV field/value pairs to add, only if the hash still exists
# -> 1 when added, 0 when the hash is gone (it is never recreated)
NOTE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS[1] the undelivered index; ARGV[1] member, ARGV[2] cutoff, ARGV[3] now
# -> 1 for the one caller that takes over a delivery started at or before the cutoff (its
#    time becomes now, so nobody else takes it until it is stale again), else 0
TAKE_DELIVERY = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""


class SecretIndex:
    """Secrets' metadata, and the indexes that find them."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: KeyRing) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._remind = redis.register_script(REMIND)
        self._note = redis.register_script(NOTE)
        # One server runs a pipeline's commands in the order sent; a Cluster does not.
        self._in_order = not isinstance(redis, RedisCluster)

    @unavailable_on_redis_errors
    async def get_many(self, handles: list[str]) -> list[SecretRecord]:
        """The metadata of several secrets by handle, in one round trip (gone ones left
        out)."""
        if not handles:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in handles:
                pipe.hgetall(self._keys.meta(name))
            found = [replies.fields(f) for f in await pipe.execute()]
        return [record_from(f, self._keyring) for f in found if f]

    @unavailable_on_redis_errors
    async def get(self, secret: str) -> SecretRecord | None:
        """A secret's metadata by id (which must match in full) or by share code; None
        when it is unknown or its retention has passed."""
        fields = replies.fields(await self._redis.hgetall(self._keys.meta(secret)))
        if not fields:
            return None
        record = record_from(fields, self._keyring)
        by_code = len(secret.replace("-", "")) == HANDLE_LEN
        return record if by_code or record.secret_id == secret else None

    @unavailable_on_redis_errors
    async def sent_by(self, team_id: str, user_id: str, *, limit: int) -> list[SecretRecord]:
        """A sender's most recent secrets, newest first (forgetting ones past retention)."""
        key = self._keys.by_sender(team_id, user_id)
        entries = replies.scored(await self._redis.zrevrange(key, 0, limit - 1,
                                                             withscores=True))
        ids = [i for i, _ in entries]
        records = [r for r in await self.get_many(ids)
                   if r.team_id == team_id and r.sender_id == user_id]
        found = {handle(r.secret_id) for r in records}
        # Forget entries whose secret is gone, but not fresh ones: the index is written
        # just before the secret itself.
        stale = [i for i, created in entries
                 if i not in found and created < time.time() - INDEX_GRACE_SECONDS]
        if stale:
            await self._redis.zrem(key, *stale)
        return records

    @unavailable_on_redis_errors
    async def in_team(self, team_id: str, *, start: int, count: int) -> list[SecretRecord]:
        """A workspace's secrets, newest first, `count` index entries from `start` (some
        may be gone past retention and are left out)."""
        key = self._keys.by_team(team_id)
        ids = replies.texts(await self._redis.zrevrange(key, start, start + count - 1))
        # A handle can be reused once an old secret's metadata is gone: check it is theirs.
        return [r for r in await self.get_many(ids) if r.team_id == team_id]

    @unavailable_on_redis_errors
    async def by_sender_page(self, team_id: str, user_id: str, *, start: int,
                             count: int) -> list[SecretRecord]:
        """One sender's secrets, newest first, `count` index entries from `start`."""
        key = self._keys.by_sender(team_id, user_id)
        ids = replies.texts(await self._redis.zrevrange(key, start, start + count - 1))
        return [r for r in await self.get_many(ids)
                if r.team_id == team_id and r.sender_id == user_id]

    @unavailable_on_redis_errors
    async def due(self, *, now: float, limit: int) -> list[str]:
        """Ids whose expiry time has come, oldest first."""
        return replies.texts(await self._redis.zrangebyscore(
            self._keys.expiries(), "-inf", now, start=0, num=limit))

    @unavailable_on_redis_errors
    async def drop(self, secret_ids: list[str]) -> int:
        """Remove ids from the expiry index; returns how many were there."""
        if not secret_ids:
            return 0
        return int(await self._redis.zrem(self._keys.expiries(),
                                          *(handle(i) for i in secret_ids)))

    @unavailable_on_redis_errors
    async def expiring(self, *, until: float) -> tuple[float | None, list[str]]:
        """Ids expiring after the reminder cursor and up to `until`; and the cursor."""
        raw = await self._redis.get(self._keys.reminded_until())
        since = float(raw) if raw else None
        ids = await self._redis.zrangebyscore(
            self._keys.expiries(), f"({since}" if since is not None else "-inf", until)
        return since, replies.texts(ids)

    @unavailable_on_redis_errors
    async def move_reminder_cursor(self, until: float) -> None:
        await self._redis.set(self._keys.reminded_until(), repr(until))

    @unavailable_on_redis_errors
    async def take_reminder(self, secret_id: str) -> bool:
        """Mark a secret reminded; True only for the first caller (HSETNX), and only while
        its metadata exists."""
        return bool(await self._remind(keys=[self._keys.meta(secret_id)]))

    @unavailable_on_redis_errors
    async def delivered(self, secret_id: str,
                        dms: Mapping[str, tuple[str, str]] | None = None) -> None:
        """The Reveal messages and the receipt were sent (or given up on, and the sender
        told): nothing is owed any more. With `dms`, `note_dms` first, in the same round
        trip on one server (a Cluster runs a pipeline's nodes at once: two steps there)."""
        if dms and not self._in_order:
            await self.note_dms(secret_id, dms)
        async with self._redis.pipeline(transaction=False) as pipe:
            if dms and self._in_order:
                # By its text, as the store's `create`: no SCRIPT EXISTS round trip.
                pipe.eval(NOTE, 1, self._keys.meta(secret_id), *_dm_fields(dms))
            pipe.zrem(self._keys.undelivered(), handle(secret_id))
            await pipe.execute()

    @unavailable_on_redis_errors
    async def take_undelivered(self, *, cutoff: float, now: float,
                               limit: int) -> list[str]:
        """Handles of secrets whose delivery started at or before `cutoff` and never
        finished (the process sending them died); each is taken by one caller."""
        names = replies.texts(await self._redis.zrangebyscore(
            self._keys.undelivered(), "-inf", cutoff, start=0, num=limit))
        if not names:
            return []
        # Every take in one round trip, by the script's text (as the store's `create`).
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.eval(TAKE_DELIVERY, 1, self._keys.undelivered(), name, cutoff, now)
            taken = await pipe.execute()
        return [name for name, took in zip(names, taken, strict=True) if took]

    @unavailable_on_redis_errors
    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None:
        """Remember where recipients' Reveal DMs are, so revoke and expiry can update them.
        Only while the secret's metadata exists: never recreate a hash that has gone."""
        await self._note(keys=[self._keys.meta(secret_id)], args=_dm_fields(dms))


def _dm_fields(dms: Mapping[str, tuple[str, str]]) -> list[str]:
    return [item for user, (channel, ts) in dms.items()
            for item in (f"d:{user}", f"{channel}:{ts}")]

