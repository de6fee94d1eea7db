"""Storage quotas: caps on the active secrets, and on the bytes they take, per sender and
per workspace.

Kept small, since every active secret pays for it (the benchmark's memory target):

- each sender has a sorted set of the handles of their active secrets, each scored by its
  expiry time and its size packed into one number (`expiry * SIZE_SPAN + size`: no second
  structure per secret), and a hash with their sum of bytes;
- each workspace has a sorted set of its senders, each scored by the earliest expiry in
  that sender's set, and a hash with its sums of secrets and bytes.

Room is reserved for a new secret by one script that checks both owners' caps and counts
it in both, or changes nothing; it is given back when the secret ends (burned, revoked,
expired by the sweep, or withdrawn). A secret whose TTL lapsed unnoticed (or whose
give-back was lost with its process) leaves its sender's set once its expiry time has
passed: every script first prunes what has expired, the workspace's senders due first,
so use never drifts upward for good.

Every quota key shares the hash tag {quota}, so a check of both owners is atomic in Redis
Cluster too (the scripts reach a due sender's keys by name, in the same slot). A secret's
own keys are in its handle's slot, which one script cannot reach as well: the reservation
is a step of its own just before the secret is stored, given back if storing does not
happen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.errors import QuotaExceeded
from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# The quota keys live as long as the longest expiry (30 days) and a day, renewed by each
# reservation: every secret they hold has expired by then.
KEYS_MS = 31 * 86400 * 1000
# The Reveal messages' places, noted in a secret's metadata once they are sent
# ("d:U…" -> "D…:1234567890.123456"): counted in advance, per recipient.
DM_NOTE_BYTES = 48
# Redis's own overhead, so that the count follows what MEMORY USAGE reports: per secret
# (its keys), and per recipient (two hash fields). Measured on Redis 7.0: a one-line
# secret for one person counts 924 bytes and takes 872; a maximum one (3,000 four-byte
# characters, 128 recipients) counts 29,413 and takes 36,899.
SECRET_OVERHEAD_BYTES = 600
FIELD_OVERHEAD_BYTES = 28
SCOPES = ("sender", "workspace")

# A size is packed below the expiry time in one sorted-set score; a secret never takes a
# MiB (at most ~40 KB), and expiry * SIZE_SPAN stays exact in a double until the year 2250.
SIZE_SPAN = 1 << 20

_COMMON = """
local SPAN = """ + str(SIZE_SPAN) + """
local function int(n) return string.format('%d', n) end
-- A sum that comes back to nothing leaves no field (and an owner with none, no key).
local function add(sums, field, delta)
  if redis.call('HINCRBY', sums, field, delta) <= 0 then redis.call('HDEL', sums, field) end
end
-- A sender's earliest expiry goes to the workspace's set of senders (or the sender leaves it).
local function reindex(held, senders, owner)
  local first = redis.call('ZRANGE', held, 0, 0, 'WITHSCORES')
  if #first == 0 then redis.call('ZREM', senders, owner)
  else redis.call('ZADD', senders, int(math.floor(tonumber(first[2]) / SPAN)), owner) end
end
-- Drop a sender's secrets whose expiry time has come, from both owners' sums.
local function prune(held, sizes, senders, totals, owner, now)
  local bound = '(' .. int((now + 1) * SPAN)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', bound, 'WITHSCORES')
  if #gone > 0 then
    local freed = 0
    for i = 2, #gone, 2 do freed = freed + tonumber(gone[i]) % SPAN end
    redis.call('ZREMRANGEBYSCORE', held, '-inf', bound)
    add(sizes, '*', -freed)
    add(totals, '*', -freed)
    add(totals, 'n', -(#gone / 2))
  end
  reindex(held, senders, owner)
end
-- Every sender of the workspace with something expired (by name: the same {quota} slot).
local function prune_due(senders, totals, now, held_of, sizes_of)
  for _, owner in ipairs(redis.call('ZRANGEBYSCORE', senders, '-inf', now)) do
    prune(string.format(held_of, owner), string.format(sizes_of, owner), senders, totals,
          owner, now)
  end
end
local function ratio_of(count, bytes, max_count, max_bytes)
  local ratio = 0
  if max_count > 0 then ratio = count / max_count end
  if max_bytes > 0 then ratio = math.max(ratio, bytes / max_bytes) end
  return ratio
end
local function sender_use(held, sizes)
  return redis.call('ZCARD', held), tonumber(redis.call('HGET', sizes, '*') or '0')
end
local function workspace_use(totals)
  local sums = redis.call('HMGET', totals, 'n', '*')
  return tonumber(sums[1] or '0'), tonumber(sums[2] or '0')
end
local function note(board, owner, ratio)
  if ratio > 0 then redis.call('ZADD', board, ratio, owner)
  else redis.call('ZREM', board, owner) end
end
local caps = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local now = tonumber(ARGV[7])
local function settle(held, sizes, totals)
  local count, bytes = sender_use(held, sizes)
  note(KEYS[5], ARGV[1], ratio_of(count, bytes, caps[1], caps[2]))
  count, bytes = workspace_use(totals)
  note(KEYS[6], ARGV[2], ratio_of(count, bytes, caps[3], caps[4]))
end
"""

# KEYS[1] the sender's held secrets, KEYS[2] the sender's sums, KEYS[3] the workspace's
# senders, KEYS[4] the workspace's sums, KEYS[5] use by sender, KEYS[6] use by workspace
# ARGV[1] the sender (owner id), ARGV[2] the workspace, ARGV[3..6] the caps: the sender's
# secrets and bytes, the workspace's secrets and bytes (0: none), ARGV[7] now (unix s),
# ARGV[8] / ARGV[9] a sender's held / sums key with %s for the owner id, ARGV[10] the
# handle, ARGV[11] its expiry time (unix s), ARGV[12] its bytes, ARGV[13] how long the keys
# live (ms)
# -> {"ok"} reserved (or reserved before) | {"sender" | "workspace", "secrets" | "bytes",
#    secrets held, bytes held}: a cap would be passed, nothing changed
RESERVE = _COMMON + """
local name, size = ARGV[10], math.min(tonumber(ARGV[12]), SPAN - 1)
prune_due(KEYS[3], KEYS[4], now, ARGV[8], ARGV[9])
prune(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], now)
if redis.call('ZSCORE', KEYS[1], name) then return {'ok'} end
local count, bytes = sender_use(KEYS[1], KEYS[2])
if caps[1] > 0 and count + 1 > caps[1] then return {'sender', 'secrets', count, bytes} end
if caps[2] > 0 and bytes + size > caps[2] then return {'sender', 'bytes', count, bytes} end
count, bytes = workspace_use(KEYS[4])
if caps[3] > 0 and count + 1 > caps[3] then return {'workspace', 'secrets', count, bytes} end
if caps[4] > 0 and bytes + size > caps[4] then return {'workspace', 'bytes', count, bytes} end
redis.call('ZADD', KEYS[1], int(tonumber(ARGV[11]) * SPAN + size), name)
add(KEYS[2], '*', size)
add(KEYS[4], '*', size)
add(KEYS[4], 'n', 1)
reindex(KEYS[1], KEYS[3], ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[13]) end
settle(KEYS[1], KEYS[2], KEYS[4])
return {'ok'}
"""

# KEYS and ARGV[1..9] as RESERVE's; ARGV[10..] handles of the sender's secrets that ended
# -> how many of them were held (each is given back to the sender and the workspace)
RELEASE = _COMMON + """
prune_due(KEYS[3], KEYS[4], now, ARGV[8], ARGV[9])
local freed = 0
for i = 10, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    local size = tonumber(score) % SPAN
    redis.call('ZREM', KEYS[1], ARGV[i])
    add(KEYS[2], '*', -size)
    add(KEYS[4], '*', -size)
    add(KEYS[4], 'n', -1)
    freed = freed + 1
  end
end
reindex(KEYS[1], KEYS[3], ARGV[1])
settle(KEYS[1], KEYS[2], KEYS[4])
return freed
"""

# KEYS and ARGV[1..9] as RESERVE's
# -> {the sender's secrets, bytes, the workspace's secrets, bytes}, after pruning
PEEK = _COMMON + """
prune_due(KEYS[3], KEYS[4], now, ARGV[8], ARGV[9])
local count, bytes = sender_use(KEYS[1], KEYS[2])
local ws_count, ws_bytes = workspace_use(KEYS[4])
return {count, bytes, ws_count, ws_bytes}
"""


@dataclass(frozen=True)
class Caps:
    """The most active secrets, and bytes, a sender and a workspace may hold (0: no cap)."""

    sender_secrets: int = 0
    sender_bytes: int = 0
    workspace_secrets: int = 0
    workspace_bytes: int = 0

    def as_args(self) -> list[int]:
        return [self.sender_secrets, self.sender_bytes, self.workspace_secrets,
                self.workspace_bytes]


def footprint(fields: Mapping[str, object], ciphertext: bytes, recipients: int) -> int:
    """The bytes a secret takes, as counted against the caps: its ciphertext, its
    metadata's fields and values, the Reveal messages' places noted later, and an
    estimate of Redis's overhead for them."""
    meta = sum(len(k.encode()) + len(str(v).encode()) for k, v in fields.items())
    return (len(ciphertext) + meta + SECRET_OVERHEAD_BYTES
            + (DM_NOTE_BYTES + 2 * FIELD_OVERHEAD_BYTES) * recipients)


class RedisQuota:
    """Reserves and gives back room for secrets. The connection is passed in."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, caps: Caps) -> None:
        self._redis = redis
        self._keys = keys
        self.caps = caps
        self._reserve = redis.register_script(RESERVE)
        self._release = redis.register_script(RELEASE)
        self._peek = redis.register_script(PEEK)

    def _script_keys(self, team_id: str, sender_id: str) -> list[str]:
        sender = f"{team_id}:{sender_id}"
        return [self._keys.quota_held(sender), self._keys.quota_sizes(sender),
                self._keys.quota_senders(team_id), self._keys.quota_sizes(team_id),
                self._keys.quota_use("sender"), self._keys.quota_use("workspace")]

    def _owner_args(self, team_id: str, sender_id: str, now: float) -> list[str | int]:
        # The last two name any sender's keys, for pruning the workspace's due senders.
        return [f"{team_id}:{sender_id}", team_id, *self.caps.as_args(), int(now),
                self._keys.quota_held("%s"), self._keys.quota_sizes("%s")]

    @unavailable_on_redis_errors
    async def reserve(self, *, team_id: str, sender_id: str, handle: str, expires_at: float,
                      size: int, now: float) -> None:
        """Reserve room for one secret in its sender's and its workspace's quotas; raise
        QuotaExceeded, changing nothing, when either would pass a cap."""
        answer = replies.array(await self._reserve(
            keys=self._script_keys(team_id, sender_id),
            args=[*self._owner_args(team_id, sender_id, now), handle, int(expires_at) + 1,
                  size, KEYS_MS]))
        if replies.text(answer[0]) == "ok":
            return
        scope, limit = replies.text(answer[0]), replies.text(answer[1])
        cap = {("sender", "secrets"): self.caps.sender_secrets,
               ("sender", "bytes"): self.caps.sender_bytes,
               ("workspace", "secrets"): self.caps.workspace_secrets,
               ("workspace", "bytes"): self.caps.workspace_bytes}[(scope, limit)]
        raise QuotaExceeded(scope, limit, cap=cap, held_secrets=int(answer[2]),
                            held_bytes=int(answer[3]))

    @unavailable_on_redis_errors
    async def ensure_room(self, *, team_id: str, sender_id: str, now: float) -> None:
        """Raise QuotaExceeded when the sender or the workspace holds as many secrets as
        its cap allows (reserves nothing, only drops what has expired: it warns before the
        form is filled in; the bytes a secret takes are known only once it is)."""
        caps = self.caps
        sender, sender_bytes, workspace, workspace_bytes = replies.array(await self._peek(
            keys=self._script_keys(team_id, sender_id),
            args=self._owner_args(team_id, sender_id, now)))
        for scope, cap, held, size in (("sender", caps.sender_secrets, sender, sender_bytes),
                                       ("workspace", caps.workspace_secrets, workspace,
                                        workspace_bytes)):
            if cap and int(held) >= cap:
                raise QuotaExceeded(scope, "secrets", cap=cap, held_secrets=int(held),
                                    held_bytes=int(size or 0))

    @unavailable_on_redis_errors
    async def release(self, ended: Iterable[tuple[str, str, str]], *, now: float) -> None:
        """Give back the room of secrets that ended, as (team, sender, handle); one that
        held none (given back before, or never reserved) changes nothing."""
        by_owner: dict[tuple[str, str], list[str]] = {}
        for team_id, sender_id, handle in ended:
            by_owner.setdefault((team_id, sender_id), []).append(handle)
        if not by_owner:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for (team_id, sender_id), handles in by_owner.items():
                # By its text (EVAL), as the secret store queues its scripts in a pipeline.
                pipe.eval(RELEASE, 6, *self._script_keys(team_id, sender_id),
                          *self._owner_args(team_id, sender_id, now), *handles)
            await pipe.execute()

    @unavailable_on_redis_errors
    async def highest_use(self) -> dict[str, float]:
        """By scope ("sender", "workspace"): the highest use of any owner's caps, as the
        larger fraction of the two (0 when nothing is held against a cap)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for scope in SCOPES:
                pipe.zrevrange(self._keys.quota_use(scope), 0, 0, withscores=True)
            found = await pipe.execute()
        return {scope: max((score for _, score in replies.scored(top)), default=0.0)
                for scope, top in zip(SCOPES, found, strict=True)}
