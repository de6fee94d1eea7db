"""The Redis secret store: ciphertext and metadata in separate keys.

The ciphertext key carries the secret's TTL, so Redis itself enforces expiry; the
metadata hash outlives it by the retention period so the audit trail and the sender
can still name what happened. Values are raw ciphertext bytes and plain strings,
never pickle.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.domain import SecretRecord, Status, ViewState
from bot.errors import ShareSecretError, StorageUnavailable
from bot.storage import scripts
from bot.storage.keys import KeySpace

P = ParamSpec("P")
T = TypeVar("T")


class CodeTaken(ShareSecretError):
    """The share code is already in use (vanishingly rare: pick another)."""


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: an outcome, and the ciphertext when it was `claimed`."""

    outcome: str  # claimed | unknown | wrong_team | not_recipient | unavailable
    ciphertext: bytes | None = None
    code: str | None = None
    sender_id: str | None = None


def _unavailable_on_redis_errors(
        method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    # Redis faults become one domain error; the driver's message (which may echo a
    # command's arguments) is not carried along.
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            raise StorageUnavailable("the secret store is unreachable") from None
    return wrapper


class RedisSecretStore:
    """Secrets in Redis. The connection is passed in; keys come from a KeySpace."""

    def __init__(self, redis: aioredis.Redis, *, keys: KeySpace,
                 metadata_retention_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._retention = metadata_retention_seconds
        self._claim = redis.register_script(scripts.CLAIM)
        self._confirm = redis.register_script(scripts.CONFIRM)
        self._release = redis.register_script(scripts.RELEASE)

    @_unavailable_on_redis_errors
    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None:
        """Store a new secret; raise CodeTaken if its share code is already used."""
        ttl_ms = max(1, round((record.expires_at - now) * 1000))
        meta_ttl_ms = ttl_ms + self._retention * 1000
        # The code index lives in another hash slot, so it cannot join the transaction
        # below under Redis Cluster; reserving it first leaves at worst an orphan code
        # key that expires, never a secret without its code.
        if not await self._redis.set(self._keys.code(record.code), record.secret_id,
                                     nx=True, px=meta_ttl_ms):
            raise CodeTaken(record.code)
        meta = self._keys.meta(record.secret_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.ciphertext(record.secret_id), ciphertext, px=ttl_ms)
            pipe.hset(meta, mapping=_meta_fields(record))
            pipe.pexpire(meta, meta_ttl_ms)
            await pipe.execute()

    @_unavailable_on_redis_errors
    async def claim(self, secret_id: str, *, user_id: str, team_id: str, now: float) -> Claim:
        """Atomically hand out the ciphertext to a recipient with an unused view."""
        reply = await self._claim(keys=[self._keys.meta(secret_id),
                                        self._keys.ciphertext(secret_id)],
                                  args=[user_id, team_id, int(now)])
        outcome = reply[0].decode()
        if outcome == "claimed":
            return Claim(outcome, ciphertext=bytes(reply[1]), code=reply[2].decode(),
                         sender_id=reply[3].decode())
        return Claim(outcome, code=reply[1].decode() if len(reply) > 1 else None)

    @_unavailable_on_redis_errors
    async def confirm(self, secret_id: str, *, user_id: str, now: float) -> str:
        """Record a claimed view as seen: "viewed", "burned" (last view) or "not_claimed"."""
        reply = await self._confirm(keys=[self._keys.meta(secret_id),
                                          self._keys.ciphertext(secret_id)],
                                    args=[user_id, int(now)])
        return reply.decode()

    @_unavailable_on_redis_errors
    async def release(self, secret_id: str, *, user_id: str) -> bool:
        """Give a claimed view back (it could not be shown)."""
        return bool(await self._release(keys=[self._keys.meta(secret_id)], args=[user_id]))

    @_unavailable_on_redis_errors
    async def get(self, secret_id: str) -> SecretRecord | None:
        """A secret's metadata, or None when it is unknown or its retention has passed."""
        fields = await self._redis.hgetall(self._keys.meta(secret_id))
        if not fields:
            return None
        return _record_from(secret_id, {k.decode(): v.decode() for k, v in fields.items()})

    @_unavailable_on_redis_errors
    async def ping(self) -> bool:
        return bool(await self._redis.ping())


def _meta_fields(record: SecretRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": record.code,
        "team": record.team_id,
        "from": record.sender_id,
        "to": ",".join(record.recipients),
        "at": int(record.created_at),
        "exp": int(record.expires_at),
        "st": record.status.value,
        "pend": len(record.recipients),
    }
    if record.origin_channel:
        fields["ch"] = record.origin_channel
    fields.update({f"r:{user}": "0" for user in record.recipients})
    return fields


def _record_from(secret_id: str, fields: Mapping[str, str]) -> SecretRecord:
    recipients = tuple(u for u in fields.get("to", "").split(",") if u)
    views: dict[str, ViewState] = {}
    viewed_at: dict[str, float] = {}
    for user in recipients:
        slot = fields.get(f"r:{user}", "0")
        if slot.startswith("v"):
            views[user] = ViewState.VIEWED
            viewed_at[user] = float(slot[1:])
        elif slot.startswith("c"):
            views[user] = ViewState.CLAIMED
        else:
            views[user] = ViewState.PENDING
    return SecretRecord(
        secret_id=secret_id,
        code=fields["code"],
        team_id=fields["team"],
        sender_id=fields["from"],
        recipients=recipients,
        created_at=float(fields["at"]),
        expires_at=float(fields["exp"]),
        origin_channel=fields.get("ch"),
        status=Status(fields.get("st", "active")),
        views=views,
        viewed_at=viewed_at,
    )
