"""Storing a new secret, and calling off one whose storing may not have happened. Part of
the secret store (bot.storage.secrets_store hands these calls here).

One server stores a secret in one round trip (STORE_HERE: its quota room, its indexes,
the secret). A Cluster, whose slots keep those keys apart, takes three steps in an order
that leaves nothing unswept if it stops half-way: the quota first, then the indexes,
then the secret itself.
"""

from __future__ import annotations

import time

from redis.asyncio.cluster import RedisCluster

from bot.crypto import KeyRing
from bot.domain import SecretRecord
from bot.errors import CodeTaken
from bot.storage import replies
from bot.storage.connection import RedisClient, script_client
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.quota import RedisQuota, footprint
from bot.storage.secret_fields import meta_fields
from bot.storage.secrets_store_lua import CREATE, STORE_HERE, WITHDRAW

# Sender and team indexes keep ids for 30 days (the longest expiry); lists show no older.
SENDER_INDEX_SECONDS = 30 * 86400
# A write the bot gave up on waits in Redis's socket buffer at most while Redis is frozen;
# it runs the moment Redis runs again, long before this mark expires.
WITHDRAWN_MARK_MS = 3600 * 1000


class SecretWrites:
    """Creates and withdraws secrets. The connection is passed in; keys come from a
    KeySpace; the key ring seals each secret's metadata."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: KeyRing,
                 retention_ms: int, quota: RedisQuota | None) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._quota = quota
        self._retention_ms = retention_ms
        # One server runs a pipeline's commands in the order sent, and any keys in one
        # script; a Cluster does neither.
        self._in_order = not isinstance(redis, RedisCluster)
        self._create = redis.register_script(CREATE)
        self._store_here = redis.register_script(STORE_HERE)
        self._withdraw = redis.register_script(WITHDRAW)

    @unavailable_on_redis_errors
    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None:
        """Store a new secret and index it; raise CodeTaken if its share code is used, and
        QuotaExceeded (storing nothing) when it would pass a storage cap."""
        name = handle(record.secret_id)
        meta = meta_fields(record, self._keyring)
        ttl_ms = max(1, round((record.expires_at - now) * 1000))
        # CREATE's ARGV: the ciphertext, its TTL, the metadata's, the metadata's fields.
        create_args = [ciphertext, ttl_ms, ttl_ms + self._retention_ms,
                       *(item for pair in meta.items() for item in pair)]
        own = [self._keys.meta(name), self._keys.ciphertext(name), self._keys.withdrawn(name),
               self._keys.owed(name)]
        retention_seconds = self._retention_ms // 1000
        if self._quota is not None:
            size = footprint(meta, ciphertext, len(record.recipients))
            if self._in_order:
                await self._here(record, own, create_args, self._quota.reservation(
                    team_id=record.team_id, sender_id=record.sender_id, handle=name,
                    expires_at=record.expires_at, size=size, now=now,
                    retention_seconds=retention_seconds), now=now)
                return
            # A step of its own (the quota keys are in another Cluster slot), before
            # anything of the secret is written; given back below if the code is taken,
            # and by `withdraw` if storing is called off.
            await self._quota.reserve(team_id=record.team_id, sender_id=record.sender_id,
                                      handle=name, expires_at=record.expires_at, size=size,
                                      now=now, retention_seconds=retention_seconds)
        created = await self._indexed_then_created(record, name, own, create_args, now=now)
        if not created:
            if self._quota is not None:
                # Nothing of it was stored: nothing is kept either.
                await self._quota.release([(record.team_id, record.sender_id, name)],
                                          ended=False, now=now,
                                          retention_seconds=retention_seconds)
            raise CodeTaken(record.code)

    async def _here(self, record: SecretRecord, own: list[str],
                    create_args: list[bytes | str | int],
                    reservation: tuple[list[str], list[str | int]], *, now: float) -> None:
        """STORE_HERE: the quota's room, the indexes and the secret in one step."""
        assert self._quota is not None
        quota_keys, quota_args = reservation
        indexes = [self._keys.expiries(), self._keys.undelivered(), self._keys.owed_index(),
                   self._keys.by_sender(record.team_id, record.sender_id),
                   self._keys.by_team(record.team_id)]
        answer = await self._store_here(
            keys=[*quota_keys, *indexes, *own],
            args=[*quota_args, record.expires_at, now, record.created_at,
                  SENDER_INDEX_SECONDS, SENDER_INDEX_SECONDS * 1000 + self._retention_ms,
                  *create_args])
        if replies.text(replies.array(answer)[0]) == "taken":
            raise CodeTaken(record.code)
        self._quota.check_reserved(answer, retention_seconds=self._retention_ms // 1000)

    async def _indexed_then_created(self, record: SecretRecord, name: str, own: list[str],
                                    create_args: list[bytes | str | int], *, now: float) -> bool:
        """The indexes, then the secret if its code is free: whether it was stored.
        Indexes first: an entry whose secret never got written is skipped by readers (who
        check team and sender), while a secret missing from the expiry index would never
        be swept."""
        sent = self._keys.by_sender(record.team_id, record.sender_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.expiries(), {name: record.expires_at}, nx=True)
            # Delivery is owed from the moment the secret exists, until `delivered`; and
            # so is its secret_created (CREATE notes it), until it is in the audit stream.
            pipe.zadd(self._keys.undelivered(), {name: now})
            pipe.zadd(self._keys.owed_index(), {name: now})
            for index in (sent, self._keys.by_team(record.team_id)):
                pipe.zadd(index, {name: record.created_at})
                pipe.zremrangebyscore(index, "-inf", now - SENDER_INDEX_SECONDS)
                pipe.pexpire(index, SENDER_INDEX_SECONDS * 1000 + self._retention_ms)
            if self._in_order:
                # In the same round trip, after the indexes (one server runs a pipeline in
                # order). By its text (EVAL): a registered script queued in a pipeline
                # first costs a round trip of its own (SCRIPT EXISTS).
                pipe.eval(CREATE, 4, *own, *create_args)
            indexed = await pipe.execute()
        # A Cluster sends a pipeline's commands to their nodes at once: the secret only
        # after its indexes have been written.
        return bool(indexed[-1] if self._in_order else await self._create(keys=own,
                                                                          args=create_args))

    @unavailable_on_redis_errors
    async def withdraw(self, record: SecretRecord) -> bool:
        """Call off a share whose storing may or may not have happened (Redis stopped
        answering mid-way): remove it if it is there, and make sure a late write of it
        stores nothing. True when a stored secret was removed."""
        name = handle(record.secret_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._withdraw(keys=[self._keys.meta(name), self._keys.ciphertext(name),
                                       self._keys.withdrawn(name), self._keys.owed(name)],
                                 args=[record.secret_id, WITHDRAWN_MARK_MS],
                                 client=script_client(pipe))
            pipe.zrem(self._keys.expiries(), name)
            pipe.zrem(self._keys.undelivered(), name)
            pipe.zrem(self._keys.owed_index(), name)
            pipe.zrem(self._keys.by_sender(record.team_id, record.sender_id), name)
            pipe.zrem(self._keys.by_team(record.team_id), name)
            removed, *_ = await pipe.execute()
        if self._quota is not None:
            # Whether or not it was stored: its room may have been reserved. Its metadata
            # is removed too: nothing is kept.
            await self._quota.release([(record.team_id, record.sender_id, name)],
                                      ended=False, now=time.time(),
                                      retention_seconds=self._retention_ms // 1000)
        return bool(removed)
