"""API tokens in Redis: one record per token, named by the SHA-256 digest of its bearer
text, and one index per workspace. The bearer text itself is never stored.

A record is a hash: `team`, `id`, `name`, `at` (created, Unix seconds), `by` (who created
it), `to` (where receipts go, absent for none), `h` (the digest again, so that a record
copied under another name fails its seal) and `mac`, the seal the service makes and checks
(bot.api.tokens). A workspace's index is a hash: `i:ID` -> digest, `n:NAME` -> id, so
that tokens are listed, counted and revoked by name or id without a scan, and a name is
taken at most once among live tokens. Records never expire: a token lives until revoked.

Every key shares the hash tag {api-tokens}: creating and revoking a token, which change a
record and an index together, are one script each, in Redis Cluster too.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# KEYS[1] the new token's record, KEYS[2] its workspace's index
# ARGV[1] token id, ARGV[2] name, ARGV[3] digest, ARGV[4] the most live tokens a workspace
# may have, ARGV[5..] the record's field, value pairs
# -> "created" | "name_taken" (a live token has that name) | "id_taken" (a live token of
#    the workspace has that id: pick another) | "full" (the workspace has as many live
#    tokens as allowed) | "exists" (a record under that digest already: pick another)
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('HEXISTS', KEYS[2], 'n:' .. ARGV[2]) == 1 then return 'name_taken' end
if redis.call('HEXISTS', KEYS[2], 'i:' .. ARGV[1]) == 1 then return 'id_taken' end
local live = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(field, 1, 2) == 'i:' then live = live + 1 end
end
if live >= tonumber(ARGV[4]) then return 'full' end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('HSET', KEYS[2], 'i:' .. ARGV[1], ARGV[3], 'n:' .. ARGV[2], ARGV[1])
return 'created'
"""

# KEYS[1] the workspace's index, KEYS[2] the token's record
# ARGV[1] token id, ARGV[2] the digest the index named for it when it was read
# -> the record's fields as they were (a flat list; empty when the record was already
#    gone), now deleted with the token's index entries; nil when the index no longer
#    names this token under that digest (revoked meanwhile: nothing done)
REVOKE = """
if redis.call('HGET', KEYS[1], 'i:' .. ARGV[1]) ~= ARGV[2] then return false end
local record = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'i:' .. ARGV[1])
local index = redis.call('HGETALL', KEYS[1])
for i = 1, #index, 2 do
  if string.sub(index[i], 1, 2) == 'n:' and index[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[1], index[i])
  end
end
return record
"""

# Key rotation's compare-and-set of a record's seal: replaced only while it is still the
# one read (and the token not revoked meanwhile).
# KEYS[1] the token's record; ARGV[1] the seal read, ARGV[2] its replacement
# -> "rotated" | "ended" (revoked meanwhile) | "changed" (re-read it)
RESEAL = """
local current = redis.call('HGET', KEYS[1], 'mac')
if not current then return 'ended' end
if current ~= ARGV[1] then return 'changed' end
redis.call('HSET', KEYS[1], 'mac', ARGV[2])
return 'rotated'
"""


class Added(enum.Enum):
    """What CREATE did."""

    CREATED = "created"
    NAME_TAKEN = "name_taken"
    ID_TAKEN = "id_taken"
    FULL = "full"
    EXISTS = "exists"


class Resealed(enum.Enum):
    """What RESEAL did."""

    ROTATED = "rotated"
    ENDED = "ended"
    CHANGED = "changed"


@dataclass(frozen=True)
class TeamIndex:
    """A workspace's live tokens as its index names them."""

    digests: dict[str, str]  # token id -> digest
    names: dict[str, str]  # name -> token id

    def name_of(self, token_id: str) -> str | None:
        return next((name for name, owner in self.names.items() if owner == token_id), None)


Fields = dict[str, str]


class RedisApiTokens:
    """Records and indexes of API tokens."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(CREATE)
        self._revoke = redis.register_script(REVOKE)
        self._reseal = redis.register_script(RESEAL)

    @unavailable_on_redis_errors
    async def add(self, *, team_id: str, token_id: str, name: str, digest: str,
                  record: Mapping[str, str], cap: int) -> Added:
        """Store a token's record and index it, unless its name or id is taken among the
        workspace's live tokens or the workspace has `cap` of them already."""
        pairs = [part for item in record.items() for part in item]
        reply = await self._create(keys=[self._keys.api_token(digest),
                                         self._keys.api_tokens(team_id)],
                                   args=[token_id, name, digest, cap, *pairs])
        return Added(replies.text(reply))

    @unavailable_on_redis_errors
    async def record(self, digest: str) -> Fields:
        """The record stored under `digest` (empty when there is none): one HGETALL."""
        return _decoded(await self._redis.hgetall(self._keys.api_token(digest)))

    @unavailable_on_redis_errors
    async def index(self, team_id: str) -> TeamIndex:
        fields = _decoded(await self._redis.hgetall(self._keys.api_tokens(team_id)))
        return TeamIndex(
            digests={k[2:]: v for k, v in fields.items() if k.startswith("i:")},
            names={k[2:]: v for k, v in fields.items() if k.startswith("n:")})

    @unavailable_on_redis_errors
    async def records(self, digests: list[str]) -> list[Fields]:
        """The records under these digests, in order (empty ones for those gone)."""
        if not digests:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.hgetall(self._keys.api_token(digest))
            return [_decoded(found) for found in await pipe.execute()]

    @unavailable_on_redis_errors
    async def remove(self, *, team_id: str, token_id: str, digest: str) -> Fields | None:
        """Delete a token's record and index entries together; its record as it was, or
        None when the index no longer names it under `digest` (revoked meanwhile)."""
        reply = await self._revoke(keys=[self._keys.api_tokens(team_id),
                                         self._keys.api_token(digest)],
                                   args=[token_id, digest])
        if reply is None:
            return None
        flat = [replies.raw(v).decode(errors="replace") for v in replies.array(reply)]
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def every_record(self) -> list[tuple[str, Fields]]:
        """Every token's record, with its digest, for key rotation: found by SCAN (a
        Cluster client scans every master); a deployment has few tokens."""
        marker = self._keys.api_token("")
        digests = [replies.text(key)[len(marker):] async for key in self._redis.scan_iter(
            match=self._keys.every_api_token(), count=1000, _type="hash")]
        found = await self.records(digests)
        return [(digest, fields) for digest, fields in zip(digests, found, strict=True)
                if fields]

    @unavailable_on_redis_errors
    async def reseal(self, digest: str, *, old: str, new: str) -> Resealed:
        reply = await self._reseal(keys=[self._keys.api_token(digest)], args=[old, new])
        return Resealed(replies.text(reply))


def _decoded(value: object) -> Fields:
    # A value changed in Redis may not be text: it then fails its seal like any change.
    return {k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in replies.fields(value).items()}
