"""Storage quotas: caps on the active secrets, and on the bytes they take, per sender and
per workspace.

Each owner (a workspace, or one sender in it) has a sorted set of the handles of its
active secrets scored by expiry time, and a hash of their sizes with their sum. Room is
reserved for a new secret by one script that checks both owners' caps and adds it to
both, or changes nothing; it is given back when the secret ends (burned, revoked, expired
by the sweep, or withdrawn). A secret whose TTL lapsed unnoticed (or whose give-back was
lost with its process) leaves the sets once its expiry time has passed: every script
prunes what has expired before it counts, so use never drifts upward for good.

Every quota key shares the hash tag {quota}, so a check of both owners is atomic in Redis
Cluster too. A secret's own keys are in its handle's slot, which one script cannot reach
as well: the reservation is a step of its own just before the secret is stored, given
back if storing does not happen.
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

_COMMON = """
local function prune(held, sizes, now)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', now)
  if #gone == 0 then return end
  local freed = 0
  for _, name in ipairs(gone) do
    freed = freed + tonumber(redis.call('HGET', sizes, name) or '0')
    redis.call('HDEL', sizes, name)
  end
  redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
  redis.call('HINCRBY', sizes, '*', -freed)
end
local function use(held, sizes, max_count, max_bytes)
  local count = redis.call('ZCARD', held)
  local bytes = tonumber(redis.call('HGET', sizes, '*') or '0')
  local ratio = 0
  if max_count > 0 then ratio = count / max_count end
  if max_bytes > 0 then ratio = math.max(ratio, bytes / max_bytes) end
  return count, bytes, ratio
end
local function note(board, owner, ratio)
  if ratio > 0 then redis.call('ZADD', board, ratio, owner)
  else redis.call('ZREM', board, owner) end
end
local function free(held, sizes, name)
  if redis.call('ZREM', held, name) == 0 then return 0 end
  local size = tonumber(redis.call('HGET', sizes, name) or '0')
  redis.call('HDEL', sizes, name)
  redis.call('HINCRBY', sizes, '*', -size)
  return 1
end
local caps = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
"""

# KEYS[1] the sender's held secrets, KEYS[2] their sizes, KEYS[3] the workspace's held
# secrets, KEYS[4] their sizes, KEYS[5] use by sender, KEYS[6] use by workspace
# ARGV[1] the sender (owner id), ARGV[2] the workspace, ARGV[3..6] the caps: the sender's
# secrets and bytes, the workspace's secrets and bytes (0: none), ARGV[7] now (unix s),
# ARGV[8] the handle, ARGV[9] its expiry time (unix s), ARGV[10] its bytes, ARGV[11] how
# long the keys live (ms)
# -> {"ok"} reserved (or reserved before) | {"sender" | "workspace", "secrets" | "bytes",
#    secrets held, bytes held}: a cap would be passed, nothing changed
RESERVE = _COMMON + """
local now, name, size = ARGV[7], ARGV[8], tonumber(ARGV[10])
prune(KEYS[1], KEYS[2], now)
prune(KEYS[3], KEYS[4], now)
if redis.call('ZSCORE', KEYS[1], name) then return {'ok'} end
local owners = {{KEYS[1], KEYS[2], 'sender', caps[1], caps[2]},
                {KEYS[3], KEYS[4], 'workspace', caps[3], caps[4]}}
for _, o in ipairs(owners) do
  local count, bytes = use(o[1], o[2], o[4], o[5])
  if o[4] > 0 and count + 1 > o[4] then return {o[3], 'secrets', count, bytes} end
  if o[5] > 0 and bytes + size > o[5] then return {o[3], 'bytes', count, bytes} end
end
for _, o in ipairs(owners) do
  redis.call('ZADD', o[1], ARGV[9], name)
  redis.call('HSET', o[2], name, size)
  redis.call('HINCRBY', o[2], '*', size)
  redis.call('PEXPIRE', o[1], ARGV[11])
  redis.call('PEXPIRE', o[2], ARGV[11])
end
local _, _, ratio = use(KEYS[1], KEYS[2], caps[1], caps[2])
note(KEYS[5], ARGV[1], ratio)
_, _, ratio = use(KEYS[3], KEYS[4], caps[3], caps[4])
note(KEYS[6], ARGV[2], ratio)
return {'ok'}
"""

# KEYS and ARGV[1..7] as RESERVE's; ARGV[8..] handles of the sender's secrets that ended
# -> how many of them were held (each is given back to the sender and the workspace)
RELEASE = _COMMON + """
prune(KEYS[1], KEYS[2], ARGV[7])
prune(KEYS[3], KEYS[4], ARGV[7])
local freed = 0
for i = 8, #ARGV do
  freed = freed + free(KEYS[1], KEYS[2], ARGV[i])
  free(KEYS[3], KEYS[4], ARGV[i])
end
local _, _, ratio = use(KEYS[1], KEYS[2], caps[1], caps[2])
note(KEYS[5], ARGV[1], ratio)
_, _, ratio = use(KEYS[3], KEYS[4], caps[3], caps[4])
note(KEYS[6], ARGV[2], ratio)
return freed
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

    def _script_keys(self, team_id: str, sender_id: str) -> list[str]:
        sender, workspace = f"{team_id}:{sender_id}", team_id
        return [self._keys.quota_held(sender), self._keys.quota_sizes(sender),
                self._keys.quota_held(workspace), self._keys.quota_sizes(workspace),
                self._keys.quota_use("sender"), self._keys.quota_use("workspace")]

    def _owner_args(self, team_id: str, sender_id: str, now: float) -> list[str | int]:
        return [f"{team_id}:{sender_id}", team_id, *self.caps.as_args(), int(now)]

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
        its cap allows (changes nothing: it warns before the form is filled in; the bytes
        a secret takes are known only once it is)."""
        caps = self.caps
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner in (f"{team_id}:{sender_id}", team_id):
                pipe.zcount(self._keys.quota_held(owner), f"({int(now)}", "+inf")
                pipe.hget(self._keys.quota_sizes(owner), "*")
            sender, sender_bytes, workspace, workspace_bytes = await pipe.execute()
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
