"""Reading every active ciphertext, and replacing one atomically: what key rotation and
`keys check` need from Redis. Also the other values sealed with the key ring: OAuth
installations (tokens), found by SCAN (they have no index; there are few of them).

Active secrets are found through the expiry index (every secret is in it from before it
is stored until the sweep has ended it), walked with ZSCAN: one key, read in pages, so
the walk costs what is active rather than the whole keyspace, and a secret present for
the whole walk is seen at least once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace
from bot.storage.secret_fields import SEAL_FIELD, SEALED_FIELDS

# What rotation reads of a metadata hash: the sealed fields, the view counts whose sum is
# sealed, the seal, and the status.
_READ = (*SEALED_FIELDS, "left", "used", "claims", SEAL_FIELD, "st")

# Key rotation's compare-and-set: the new ciphertext and metadata seal replace the old
# ones only while the secret is still active and both are exactly the ones that were
# re-made, so a secret burned, revoked or expired meanwhile is never brought back, and the
# TTL (the expiry) is kept as it is.
# KEYS[1] meta hash, KEYS[2] ciphertext
# ARGV[1] the full secret id, ARGV[2] the ciphertext read, ARGV[3] its replacement,
# ARGV[4] the seal read, ARGV[5] its replacement
# -> "rotated" | "ended" (no longer active, or its ciphertext is gone) | "changed" (the
#    ciphertext or the seal is no longer the one read: re-read it)
REWRAP = """
local m = KEYS[1]
if redis.call('HGET', m, 'id') ~= ARGV[1] or redis.call('HGET', m, 'st') ~= 'active' then
  return 'ended'
end
local current = redis.call('GET', KEYS[2])
if not current then return 'ended' end
if current ~= ARGV[2] or redis.call('HGET', m, 'mac') ~= ARGV[4] then return 'changed' end
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
redis.call('HSET', m, 'mac', ARGV[5])
return 'rotated'
"""

# The same compare-and-set for a value sealed with the key ring that is not a secret (an
# OAuth installation): replaced only if it is still the value read, keeping any TTL, so a
# fresh installation saved meanwhile is never overwritten by the old one re-encrypted.
# KEYS[1] the value; ARGV[1] the value read, ARGV[2] its replacement
# -> "rotated" | "ended" (it is gone) | "changed"
REWRAP_VALUE = """
local current = redis.call('GET', KEYS[1])
if not current then return 'ended' end
if current ~= ARGV[1] then return 'changed' end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 'rotated'
"""

# Sealing a secret stored before seals existed, once, at upgrade (`keys seal`): only while
# it is active, still the same secret, and still has no seal (a sealed one is never
# re-sealed here, so this cannot launder a record whose seal fails).
# KEYS[1] meta hash
# ARGV[1] the full secret id as read, ARGV[2] the seal
# -> "sealed" | "has_seal" | "ended"
SEAL_UNSEALED = """
local m = KEYS[1]
if redis.call('HGET', m, 'id') ~= ARGV[1] or redis.call('HGET', m, 'st') ~= 'active' then
  return 'ended'
end
if redis.call('HSETNX', m, 'mac', ARGV[2]) == 0 then return 'has_seal' end
return 'sealed'
"""


@dataclass(frozen=True)
class StoredToken:
    """One secret's ciphertext as read, with what rotation must know about it."""

    handle: str
    secret_id: str | None  # None: its metadata is gone
    active: bool
    expires_at: float | None
    token: bytes | None  # None: the ciphertext is gone (burned, revoked, expired)
    # The metadata fields a seal covers, and the seal (bot.storage.secret_fields), as read.
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def seal(self) -> str:
        return self.meta.get(SEAL_FIELD, "")


class RedisKeyUsage:
    """Ciphertexts by page, and the compare-and-set that replaces one."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._rewrap = redis.register_script(REWRAP)
        self._rewrap_value = redis.register_script(REWRAP_VALUE)
        self._seal_unsealed = redis.register_script(SEAL_UNSEALED)

    @unavailable_on_redis_errors
    async def page(self, cursor: int, *, count: int) -> tuple[int, list[StoredToken]]:
        """The next page of the expiry index from `cursor` (0 starts; 0 back means done)."""
        cursor, entries = await self._redis.zscan(self._keys.expiries(), cursor, count=count)
        handles = [_text(name) for name, _ in entries]
        return cursor, await self.read(handles)

    @unavailable_on_redis_errors
    async def read(self, handles: list[str]) -> list[StoredToken]:
        """The ciphertexts and states of these secrets, in one round trip."""
        if not handles:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in handles:
                pipe.hmget(self._keys.meta(name), *_READ)
                pipe.get(self._keys.ciphertext(name))
            replies = await pipe.execute()
        found = []
        for name, values, token in zip(handles, replies[0::2], replies[1::2], strict=True):
            meta = {k: _text(v) for k, v in zip(_READ, values, strict=True) if v is not None}
            found.append(StoredToken(
                handle=name, secret_id=meta.get("id"), active=meta.pop("st", "") == "active",
                expires_at=float(meta["exp"]) if "exp" in meta else None,
                token=bytes(token) if token is not None else None, meta=meta))
        return found

    @unavailable_on_redis_errors
    async def replace(self, secret_id: str, *, old: bytes, new: bytes, old_seal: str,
                      new_seal: str) -> str:
        """Put `new` in place of `old` and `new_seal` in place of `old_seal` if the secret
        is still active and both are still as read (keeping its TTL): "rotated", "ended"
        or "changed"."""
        outcome = await self._rewrap(
            keys=[self._keys.meta(secret_id), self._keys.ciphertext(secret_id)],
            args=[secret_id, old, new, old_seal, new_seal])
        return outcome.decode() if isinstance(outcome, bytes) else str(outcome)

    @unavailable_on_redis_errors
    async def seal_unsealed(self, secret_id: str, *, seal: str) -> str:
        """Give an active secret that has no seal yet this one: "sealed", "has_seal" (it
        has one, good or not: left as it is) or "ended"."""
        outcome = await self._seal_unsealed(keys=[self._keys.meta(secret_id)],
                                            args=[secret_id, seal])
        return outcome.decode() if isinstance(outcome, bytes) else str(outcome)

    @unavailable_on_redis_errors
    async def seals_done_at(self) -> float | None:
        """When `keys seal` last completed (None: never)."""
        found = await self._redis.get(self._keys.seals_done())
        return float(_text(found)) if found is not None else None

    @unavailable_on_redis_errors
    async def mark_seals_done(self, at: float) -> None:
        await self._redis.set(self._keys.seals_done(), f"{at:.0f}")

    @unavailable_on_redis_errors
    async def sealed_values(self) -> list[tuple[str, bytes]]:
        """Every installation value (key name, sealed value). SCAN, which a Cluster client
        runs on every master; there is one installation per workspace and installer."""
        keys = [_text(name) async for name in self._redis.scan_iter(
            match=self._keys.sealed_installations(), count=1000, _type="string")]
        return [(key, value) for key, value in zip(keys, await self._get(keys), strict=True)
                if value is not None]

    @unavailable_on_redis_errors
    async def sealed_value(self, key: str) -> bytes | None:
        return (await self._get([key]))[0]

    async def _get(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        # GETs in a pipeline rather than MGET: the keys need not share a Cluster slot.
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            return [bytes(v) if v is not None else None for v in await pipe.execute()]

    @unavailable_on_redis_errors
    async def replace_value(self, key: str, *, old: bytes, new: bytes) -> str:
        """Put `new` in place of `old` if the value is still `old`: "rotated", "ended" or
        "changed"."""
        outcome = await self._rewrap_value(keys=[key], args=[old, new])
        return outcome.decode() if isinstance(outcome, bytes) else str(outcome)


def _text(value: object) -> str:
    # The client answers bytes (no decode_responses); the check keeps the types honest.
    return value.decode() if isinstance(value, bytes) else str(value)
