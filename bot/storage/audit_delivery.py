"""Delivering the audit stream to Slack: the lease and the outbox cursor over the stream.

One process at a time holds the delivery lease and moves the cursor past what it has
posted; the cursor only moves while the lease is held, so two processes never post the
same events.
"""

from __future__ import annotations

from bot.storage import replies
from bot.storage.audit_batches import PendingBatches
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import AuditKeys

# KEYS[1] lease; ARGV[1] owner, ARGV[2] lease ms -> 1 when the caller holds the lease
ACQUIRE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS[1] lease; ARGV[1] owner -> 1 if the owner held it and let go
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS[1] cursor; ARGV[1] the cursor the batch was read after, ARGV[2] new cursor
# -> 1 if moved (compare and set: only from where the batch started, so a cursor never
#    moves twice for one batch, whoever holds the lease by now)
ADVANCE_CURSOR = """
local current = redis.call('GET', KEYS[1]) or '0-0'
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


class AuditDelivery:
    """The delivery lease, the cursor, and the batch being posted."""

    def __init__(self, redis: RedisClient, *, keys: AuditKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._acquire = redis.register_script(ACQUIRE_LEASE)
        self._advance = redis.register_script(ADVANCE_CURSOR)
        self._release = redis.register_script(RELEASE_LEASE)
        self.batches = PendingBatches(redis, lease=keys.lease, cursor=keys.cursor,
                                      pending=keys.pending)
        """The batch being posted, whose outcome may be unknown (bot.storage.audit_batches)."""

    @unavailable_on_redis_errors
    async def delivered(self) -> str:
        """The id of the last event posted to Slack ("0-0" before the first)."""
        found = replies.optional_text(await self._redis.get(self._keys.cursor))
        return found or "0-0"

    @unavailable_on_redis_errors
    async def hold_lease(self, owner: str, *, seconds: float) -> bool:
        """Take or renew the delivery lease; False while another process holds it."""
        return bool(await self._acquire(keys=[self._keys.lease],
                                        args=[owner, int(seconds * 1000)]))

    @unavailable_on_redis_errors
    async def let_go(self, owner: str) -> None:
        """Give the lease up (at shutdown), so another process takes over at once."""
        await self._release(keys=[self._keys.lease], args=[owner])

    @unavailable_on_redis_errors
    async def mark_delivered(self, after: str, event_id: str) -> bool:
        """Move the cursor from `after` (where the posted batch started) to `event_id`."""
        return bool(await self._advance(keys=[self._keys.cursor], args=[after, event_id]))

    @unavailable_on_redis_errors
    async def lease_left(self, owner: str) -> float:
        """Seconds left on `owner`'s lease (0 when someone else holds it, or nobody)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._keys.lease)
            pipe.pttl(self._keys.lease)
            holder, ttl = await pipe.execute()
        return max(0, ttl) / 1000 if holder == owner.encode() else 0.0

    @unavailable_on_redis_errors
    async def backlog(self, *, now: float, cap: int = 10_000) -> tuple[int, float]:
        """Events not yet posted (counted up to `cap`), and the age in seconds of the
        oldest of them (0 when none): the outbox's lag, as any replica sees it."""
        cursor = replies.optional_text(await self._redis.get(self._keys.cursor))
        start = f"({cursor}" if cursor else "-"
        entries = replies.stream_entries(await self._redis.xrange(
            self._keys.stream, start, "+", count=cap))
        if not entries:
            return 0, 0.0
        oldest_ms = int(entries[0][0].split("-")[0])
        return len(entries), max(0.0, now - oldest_ms / 1000)
