"""Storage quotas: caps on the active secrets, and on the bytes they take, per sender and
per workspace. The bytes also cover what an ended secret leaves: its metadata is kept for
the retention period (METADATA_RETENTION_DAYS) after its end, and so is that part of its
size; the count is of active secrets only.

Kept small, since every active secret pays for it (the benchmark's memory target):

- each sender has a sorted set of the handles of their active secrets (`held`), each
  scored by its expiry time with its size packed below it in the same number (no second
  structure per secret): the part its metadata keeps once it ends, and the rest (its
  ciphertext's), in units of SIZE_UNIT bytes; a sorted set of the handles of their ended
  secrets whose metadata is still kept (`kept`), each scored by the time that metadata
  goes with its kept part packed below; and a hash with their sum of bytes in both;
- each workspace has a sorted set of its senders, each scored by the earliest time in
  that sender's two sets, and a hash with its sums of active secrets and of bytes.

Room is reserved for a new secret by one script that checks both owners' caps and counts
it in both, or changes nothing. When the secret ends (burned, revoked, expired by the
sweep) its entry moves from `held` to `kept`: the active secret and its ciphertext's part
are given back, its metadata's part stays counted until the retention has passed. A share
that was never stored (or was withdrawn) gives everything back. A secret whose TTL lapsed
unnoticed (or whose give-back was lost with its process) moves to `kept` once its expiry
time has passed, and leaves it once its retention has: every script first prunes what is
due, the workspace's senders due first, so use never drifts upward for good.

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

# The quota keys live as long as the longest expiry (30 days) and a day, and the retention
# after it, renewed by each reservation and each move to `kept`: every secret they hold
# has expired, and every metadata they count has gone, by then.
KEYS_SECONDS = 31 * 86400
# The Reveal messages' places, noted in a secret's metadata once they are sent
# ("d:U…" -> "D…:1234567890.123456"): counted in advance, per recipient.
DM_NOTE_BYTES = 48
# Redis's own overhead, so that the count follows what MEMORY USAGE reports: per secret
# (its keys), and per recipient (two hash fields). Measured on Redis 7.0: a one-line
# secret for one person counts 924 bytes and takes 872; a maximum one (3,000 four-byte
# characters, 128 recipients) counts 29,413 and takes 36,899. Of the per-secret part, the
# ciphertext's key takes about 90 bytes (gone when the secret ends, with the ciphertext).
SECRET_OVERHEAD_BYTES = 600
CIPHERTEXT_OVERHEAD_BYTES = 96
FIELD_OVERHEAD_BYTES = 28
SCOPES = ("sender", "workspace")

# Two sizes are packed below a time in one sorted-set score, each in units of SIZE_UNIT
# bytes (rounded up) below SIZE_PART units: `time * SIZE_SPAN + kept * SIZE_PART + rest`.
# A secret's metadata never takes 32 KB (~18 KB with 128 recipients), nor its ciphertext
# (~12 KB); time * SIZE_SPAN stays exact in a double until the year 2250.
SIZE_UNIT = 32
SIZE_PART = 1 << 10
SIZE_SPAN = SIZE_PART * SIZE_PART

_COMMON = """
local SPAN, PART, UNIT = """ + f"{SIZE_SPAN}, {SIZE_PART}, {SIZE_UNIT}" + """
local function int(n) return string.format('%d', n) end
-- A sum that comes back to nothing leaves no field (and an owner with none, no key).
local function add(sums, field, delta)
  if redis.call('HINCRBY', sums, field, delta) <= 0 then redis.call('HDEL', sums, field) end
end
local caps = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local now, keep = tonumber(ARGV[7]), tonumber(ARGV[8])
local keys_ms = (""" + str(KEYS_SECONDS) + """ + keep) * 1000
-- A score's time, and the two sizes packed below it (kept, rest) in units.
local function parts(score)
  local low = tonumber(score) % SPAN
  return (tonumber(score) - low) / SPAN, math.floor(low / PART), low % PART
end
local function renew(...)
  for _, key in ipairs({...}) do redis.call('PEXPIRE', key, keys_ms) end
end
-- An ended secret's metadata part, counted until `leave` (replacing an older entry for
-- the same handle, which a reused handle could have left).
local function keep_part(kept, sizes, totals, name, leave, units)
  local old = redis.call('ZSCORE', kept, name)
  if old then
    local _, _, gone = parts(old)
    add(sizes, '*', -gone * UNIT)
    add(totals, '*', -gone * UNIT)
  end
  redis.call('ZADD', kept, int(leave * SPAN + units), name)
end
-- A sender's earliest time in either set goes to the workspace's set of senders (or the
-- sender leaves it).
local function first_time(set)
  local first = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if #first == 0 then return nil end
  return (parts(first[2]))
end
local function reindex(held, kept, senders, owner)
  local a, b = first_time(held), first_time(kept)
  local first = (a and b) and math.min(a, b) or a or b
  if first then redis.call('ZADD', senders, int(first), owner)
  else redis.call('ZREM', senders, owner) end
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
-- What is due for one sender: secrets whose expiry time has come end (their metadata's
-- part stays, until `keep` seconds after that time); metadata parts whose time has come
-- leave. Both owners' sums follow.
local function prune(held, kept, sizes, senders, totals, owner)
  local bound = '(' .. int((now + 1) * SPAN)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', bound, 'WITHSCORES')
  if #gone > 0 then
    local freed = 0
    redis.call('ZREMRANGEBYSCORE', held, '-inf', bound)
    for i = 1, #gone, 2 do
      local at, meta, rest = parts(gone[i + 1])
      freed = freed + rest
      keep_part(kept, sizes, totals, gone[i], at + keep, meta)
    end
    add(sizes, '*', -freed * UNIT)
    add(totals, '*', -freed * UNIT)
    add(totals, 'n', -(#gone / 2))
    renew(held, kept, sizes, senders, totals)
  end
  gone = redis.call('ZRANGEBYSCORE', kept, '-inf', bound, 'WITHSCORES')
  if #gone > 0 then
    local freed = 0
    for i = 2, #gone, 2 do freed = freed + tonumber(gone[i]) % SPAN end
    redis.call('ZREMRANGEBYSCORE', kept, '-inf', bound)
    add(sizes, '*', -freed * UNIT)
    add(totals, '*', -freed * UNIT)
  end
  reindex(held, kept, senders, owner)
  -- The metric's board follows a sender who has not shared since.
  local count, bytes = sender_use(held, sizes)
  note(KEYS[6], owner, ratio_of(count, bytes, caps[1], caps[2]))
end
-- Every sender of the workspace with something due (by name: the same {quota} slot).
local function prune_due(senders, totals, held_of, kept_of, sizes_of)
  for _, owner in ipairs(redis.call('ZRANGEBYSCORE', senders, '-inf', now)) do
    prune(string.format(held_of, owner), string.format(kept_of, owner),
          string.format(sizes_of, owner), senders, totals, owner)
  end
end
local function settle()
  local count, bytes = sender_use(KEYS[1], KEYS[3])
  note(KEYS[6], ARGV[1], ratio_of(count, bytes, caps[1], caps[2]))
  count, bytes = workspace_use(KEYS[5])
  note(KEYS[7], ARGV[2], ratio_of(count, bytes, caps[3], caps[4]))
end
local function prune_all()
  prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
  prune(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])
end
"""

# KEYS[1] the sender's held (active) secrets, KEYS[2] the sender's kept (ended) secrets'
# metadata, KEYS[3] the sender's sums, KEYS[4] the workspace's senders, KEYS[5] the
# workspace's sums, KEYS[6] use by sender, KEYS[7] use by workspace
# ARGV[1] the sender (owner id), ARGV[2] the workspace, ARGV[3..6] the caps: the sender's
# secrets and bytes, the workspace's secrets and bytes (0: none), ARGV[7] now (unix s),
# ARGV[8] how long metadata is kept after a secret ends (s), ARGV[9] / ARGV[10] /
# ARGV[11] a sender's held / kept / sums key with %s for the owner id, ARGV[12] the
# handle, ARGV[13] its expiry time (unix s), ARGV[14] its bytes, ARGV[15] the part of
# them its metadata keeps after it ends
# -> {"ok"} reserved (or reserved before) | {"sender" | "workspace", "secrets" | "bytes",
#    secrets held, bytes held}: a cap would be passed, nothing changed
RESERVE = _COMMON + """
local name = ARGV[12]
local meta = math.min(math.ceil(tonumber(ARGV[15]) / UNIT), PART - 1)
local rest = math.min(math.max(math.ceil(tonumber(ARGV[14]) / UNIT) - meta, 0), PART - 1)
local size = (meta + rest) * UNIT
prune_all()
if redis.call('ZSCORE', KEYS[1], name) then return {'ok'} end
local count, bytes = sender_use(KEYS[1], KEYS[3])
if caps[1] > 0 and count + 1 > caps[1] then return {'sender', 'secrets', count, bytes} end
if caps[2] > 0 and bytes + size > caps[2] then return {'sender', 'bytes', count, bytes} end
count, bytes = workspace_use(KEYS[5])
if caps[3] > 0 and count + 1 > caps[3] then return {'workspace', 'secrets', count, bytes} end
if caps[4] > 0 and bytes + size > caps[4] then return {'workspace', 'bytes', count, bytes} end
redis.call('ZADD', KEYS[1], int(tonumber(ARGV[13]) * SPAN + meta * PART + rest), name)
add(KEYS[3], '*', size)
add(KEYS[5], '*', size)
add(KEYS[5], 'n', 1)
reindex(KEYS[1], KEYS[2], KEYS[4], ARGV[1])
renew(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
settle()
return {'ok'}
"""

# KEYS and ARGV[1..11] as RESERVE's; ARGV[12] "1": the secrets ended, and their metadata
# is kept for ARGV[8] seconds from now | "0": they were never stored, or were removed;
# ARGV[13..] handles of the sender's secrets
# -> how many of them were held (each active secret is given back to the sender and the
#    workspace, and its bytes but its kept metadata's part)
RELEASE = _COMMON + """
prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
local ended, leave, freed = ARGV[12] == '1', now + 1 + keep, 0
for i = 13, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    local _, meta, rest = parts(score)
    redis.call('ZREM', KEYS[1], ARGV[i])
    if ended then keep_part(KEYS[2], KEYS[3], KEYS[5], ARGV[i], leave, meta)
    else rest = rest + meta end
    add(KEYS[3], '*', -rest * UNIT)
    add(KEYS[5], '*', -rest * UNIT)
    add(KEYS[5], 'n', -1)
    freed = freed + 1
  elseif ended then
    -- Moved to `kept` at its expiry time, ended since (by the sweep): its metadata is
    -- kept from now.
    local kept = redis.call('ZSCORE', KEYS[2], ARGV[i])
    if kept then
      local _, _, meta = parts(kept)
      redis.call('ZADD', KEYS[2], 'XX', 'GT', int(leave * SPAN + meta), ARGV[i])
    end
  end
end
if ended then renew(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]) end
reindex(KEYS[1], KEYS[2], KEYS[4], ARGV[1])
settle()
return freed
"""

# KEYS and ARGV[1..11] as RESERVE's
# -> {the sender's secrets, bytes, the workspace's secrets, bytes}, after pruning
PEEK = _COMMON + """
prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
local count, bytes = sender_use(KEYS[1], KEYS[3])
local ws_count, ws_bytes = workspace_use(KEYS[5])
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


@dataclass(frozen=True)
class Footprint:
    """The bytes a secret is counted for: `total` while it is active, and `kept` (its
    metadata's part) from its end until its metadata's retention has passed."""

    total: int
    kept: int


def footprint(fields: Mapping[str, object], ciphertext: bytes, recipients: int) -> Footprint:
    """The bytes a secret takes, as counted against the caps: its ciphertext, its
    metadata's fields and values, the Reveal messages' places noted later, and an
    estimate of Redis's overhead for them; and what of that its metadata keeps once the
    ciphertext is gone."""
    meta = sum(len(k.encode()) + len(str(v).encode()) for k, v in fields.items())
    kept = (meta + SECRET_OVERHEAD_BYTES - CIPHERTEXT_OVERHEAD_BYTES
            + (DM_NOTE_BYTES + 2 * FIELD_OVERHEAD_BYTES) * recipients)
    return Footprint(total=kept + len(ciphertext) + CIPHERTEXT_OVERHEAD_BYTES, kept=kept)


class RedisQuota:
    """Reserves and gives back room for secrets. The connection is passed in; the secret
    store passes how long it keeps an ended secret's metadata (`retention_seconds`)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, caps: Caps) -> None:
        self._redis = redis
        self._keys = keys
        self.caps = caps
        self._reserve = redis.register_script(RESERVE)
        self._release = redis.register_script(RELEASE)
        self._peek = redis.register_script(PEEK)

    def _script_keys(self, team_id: str, sender_id: str) -> list[str]:
        sender = f"{team_id}:{sender_id}"
        return [self._keys.quota_held(sender), self._keys.quota_kept(sender),
                self._keys.quota_sizes(sender), self._keys.quota_senders(team_id),
                self._keys.quota_sizes(team_id), self._keys.quota_use("sender"),
                self._keys.quota_use("workspace")]

    def _owner_args(self, team_id: str, sender_id: str, now: float,
                    retention_seconds: int) -> list[str | int]:
        # The last three name any sender's keys, for pruning the workspace's due senders.
        return [f"{team_id}:{sender_id}", team_id, *self.caps.as_args(), int(now),
                retention_seconds, self._keys.quota_held("%s"), self._keys.quota_kept("%s"),
                self._keys.quota_sizes("%s")]

    @unavailable_on_redis_errors
    async def reserve(self, *, team_id: str, sender_id: str, handle: str, expires_at: float,
                      size: Footprint, now: float, retention_seconds: int) -> None:
        """Reserve room for one secret in its sender's and its workspace's quotas; raise
        QuotaExceeded, changing nothing, when either would pass a cap."""
        answer = replies.array(await self._reserve(
            keys=self._script_keys(team_id, sender_id),
            args=[*self._owner_args(team_id, sender_id, now, retention_seconds), handle,
                  int(expires_at) + 1, size.total, size.kept]))
        if replies.text(answer[0]) == "ok":
            return
        scope, limit = replies.text(answer[0]), replies.text(answer[1])
        cap = {("sender", "secrets"): self.caps.sender_secrets,
               ("sender", "bytes"): self.caps.sender_bytes,
               ("workspace", "secrets"): self.caps.workspace_secrets,
               ("workspace", "bytes"): self.caps.workspace_bytes}[(scope, limit)]
        raise QuotaExceeded(scope, limit, cap=cap, held_secrets=int(answer[2]),
                            held_bytes=int(answer[3]), kept_days=retention_seconds // 86400)

    @unavailable_on_redis_errors
    async def ensure_room(self, *, team_id: str, sender_id: str, now: float,
                          retention_seconds: int) -> None:
        """Raise QuotaExceeded when the sender or the workspace holds as many secrets as
        its cap allows (reserves nothing, only drops what is due: it warns before the
        form is filled in; the bytes a secret takes are known only once it is)."""
        caps = self.caps
        sender, sender_bytes, workspace, workspace_bytes = replies.array(await self._peek(
            keys=self._script_keys(team_id, sender_id),
            args=self._owner_args(team_id, sender_id, now, retention_seconds)))
        for scope, cap, held, size in (("sender", caps.sender_secrets, sender, sender_bytes),
                                       ("workspace", caps.workspace_secrets, workspace,
                                        workspace_bytes)):
            if cap and int(held) >= cap:
                raise QuotaExceeded(scope, "secrets", cap=cap, held_secrets=int(held),
                                    held_bytes=int(size or 0),
                                    kept_days=retention_seconds // 86400)

    @unavailable_on_redis_errors
    async def release(self, secrets: Iterable[tuple[str, str, str]], *, ended: bool,
                      now: float, retention_seconds: int) -> None:
        """Give back the room of secrets, as (team, sender, handle): all of it when they
        were never stored or were removed; when they `ended`, all but their metadata's
        part, which stays counted until `retention_seconds` from `now` (as long as the
        store keeps it). One that held none (given back before, or never reserved)
        changes nothing."""
        by_owner: dict[tuple[str, str], list[str]] = {}
        for team_id, sender_id, handle in secrets:
            by_owner.setdefault((team_id, sender_id), []).append(handle)
        if not by_owner:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for (team_id, sender_id), handles in by_owner.items():
                # By its text (EVAL), as the secret store queues its scripts in a pipeline.
                pipe.eval(RELEASE, 7, *self._script_keys(team_id, sender_id),
                          *self._owner_args(team_id, sender_id, now, retention_seconds),
                          "1" if ended else "0", *handles)
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
