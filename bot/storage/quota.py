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

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.errors import QuotaExceeded, StorageUnavailable
from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.quota_lua import PEEK, RELEASE_ROOM, RESERVE

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
        keys, args = self.reservation(team_id=team_id, sender_id=sender_id, handle=handle,
                                      expires_at=expires_at, size=size, now=now,
                                      retention_seconds=retention_seconds)
        self.check_reserved(await self._reserve(keys=keys, args=args),
                            retention_seconds=retention_seconds)

    def reservation(self, *, team_id: str, sender_id: str, handle: str, expires_at: float,
                    size: Footprint, now: float,
                    retention_seconds: int) -> tuple[list[str], list[str | int]]:
        """RESERVE's KEYS and ARGV, for `reserve` or a script that reserves in its own
        step (bot.storage.secret_writes, on one server)."""
        return self._script_keys(team_id, sender_id), [
            *self._owner_args(team_id, sender_id, now, retention_seconds), handle,
            int(expires_at) + 1, size.total, size.kept]

    def check_reserved(self, answer: object, *, retention_seconds: int) -> None:
        """Raise QuotaExceeded when RESERVE's answer is a refusal."""
        reply = replies.array(answer)
        if replies.text(reply[0]) == "ok":
            return
        scope, limit = replies.text(reply[0]), replies.text(reply[1])
        cap = {("sender", "secrets"): self.caps.sender_secrets,
               ("sender", "bytes"): self.caps.sender_bytes,
               ("workspace", "secrets"): self.caps.workspace_secrets,
               ("workspace", "bytes"): self.caps.workspace_bytes}[(scope, limit)]
        raise QuotaExceeded(scope, limit, cap=cap, held_secrets=int(reply[2]),
                            held_bytes=int(reply[3]), kept_days=retention_seconds // 86400)

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
        for team_id, sender_id, name in secrets:
            by_owner.setdefault((team_id, sender_id), []).append(name)
        if not by_owner:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for (team_id, sender_id), handles in by_owner.items():
                # By its text (EVAL), as the secret store queues its scripts in a pipeline.
                pipe.eval(RELEASE_ROOM, 7, *self._script_keys(team_id, sender_id),
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


async def give_back(quota: RedisQuota | None, ended: list[tuple[str, object]], *,
                    now: float, retention_seconds: int) -> None:
    """Give back the quota room of secrets that just ended, as (id, HMGET of their
    metadata's team and sender), but their metadata's part, counted while it is kept
    (the retention from now, as the ending script set its TTL). Should this step be lost
    (the process dies first), that happens at the secret's expiry time all the same."""
    if quota is None:
        return
    owners = []
    for secret_id, owner in ended:
        team, sender = (replies.optional_text(v) for v in replies.array(owner))
        if team and sender:
            owners.append((team, sender, handle(secret_id)))
    with contextlib.suppress(StorageUnavailable):
        # The secret has ended all the same: its room comes back at its expiry time
        # (its metadata's part, after the retention from then).
        await quota.release(owners, ended=True, now=now, retention_seconds=retention_seconds)
