"""The audit outbox's batch in flight: what was (maybe) posted, until the cursor moves.

chat.postMessage has no idempotency key, so a post whose answer never came (the
process was killed, the answer was lost) leaves its outcome unknown. Before posting,
the batch is written here as pending, in one step with the lease check; after the post,
the cursor moves and the pending batch goes in one step. A pending batch found later
(by the next lease holder, or by a retry) is looked for in the channel before anything
is posted again (bot.audit.outbox).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.typing import EncodableT

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors

# KEYS[1] lease, KEYS[2] cursor, KEYS[3] pending; ARGV[1] owner, ARGV[2] ms the lease
# must still have, ARGV[3] the cursor the batch was read after, ARGV[4] batch id,
# ARGV[5..] first, last, channel, team, at, tried, unverified
# -> 1 when the batch is now pending for this owner. Refused (0) when the caller does
#    not hold the lease for long enough (another process may take over mid-post), the
#    cursor moved, or another batch is pending.
BEGIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then return 0 end
if (redis.call('GET', KEYS[2]) or '0-0') ~= ARGV[3] then return 0 end
local held = redis.call('HGET', KEYS[3], 'batch')
if held and held ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[3], 'batch', ARGV[4], 'after', ARGV[3], 'first', ARGV[5],
           'last', ARGV[6], 'channel', ARGV[7], 'team', ARGV[8], 'at', ARGV[9],
           'tried', ARGV[10], 'unverified', ARGV[11])
return 1
"""

# KEYS[1] cursor, KEYS[2] pending; ARGV[1] batch id, ARGV[2] the cursor the batch was
# read after, ARGV[3] its last event id -> 1 when the cursor moved past the batch and
# the batch is no longer pending (compare and set: a cursor never moves twice for one
# batch, and never for a batch other than the pending one)
FINISH = """
if (redis.call('GET', KEYS[1]) or '0-0') ~= ARGV[2] then return 0 end
local held = redis.call('HGET', KEYS[2], 'batch')
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS[1] pending; ARGV[1] batch id -> 1 if that batch was pending and no longer is
# (Slack refused the post outright: nothing was posted)
DROP = """
if redis.call('HGET', KEYS[1], 'batch') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


@dataclass(frozen=True)
class PendingBatch:
    """A batch of consecutive stream events that may have been posted.

    `after` is the cursor it was read after, `first`/`last` its event ids, `at` the
    time of its first post (where to look for it in the channel), `tried` of its latest,
    `unverified` whether it is posted again without knowing if an earlier post arrived.
    """

    batch: str
    after: str
    first: str
    last: str
    channel: str
    team: str
    at: float
    tried: float
    unverified: bool = False


class PendingBatches:
    """The one pending batch of the audit outbox (at most one at a time)."""

    def __init__(self, redis: RedisClient, *, lease: str, cursor: str, pending: str) -> None:
        self._redis = redis
        self._lease, self._cursor, self._pending = lease, cursor, pending
        self._begin = redis.register_script(BEGIN)
        self._finish = redis.register_script(FINISH)
        self._drop = redis.register_script(DROP)

    @unavailable_on_redis_errors
    async def current(self) -> PendingBatch | None:
        """The pending batch, if any."""
        raw = replies.fields(await self._redis.hgetall(self._pending))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        try:
            return PendingBatch(
                batch=fields["batch"], after=fields["after"], first=fields["first"],
                last=fields["last"], channel=fields["channel"], team=fields["team"],
                at=float(fields["at"]), tried=float(fields["tried"]),
                unverified=fields.get("unverified") == "1")
        except (KeyError, ValueError):
            # Unreadable (written by hand, say): treated as an unverified batch at time 0,
            # which the outbox posts again, marked.
            return PendingBatch(batch=fields.get("batch", "?"), after=fields.get("after", ""),
                                first=fields.get("first", ""), last=fields.get("last", ""),
                                channel=fields.get("channel", ""), team=fields.get("team", ""),
                                at=0.0, tried=0.0, unverified=True)

    @unavailable_on_redis_errors
    async def begin(self, owner: str, batch: PendingBatch, *, lease_ms: int) -> bool:
        """Mark `batch` pending (or, already pending, record another try), provided
        `owner` holds the lease for at least `lease_ms` more and the cursor has not moved."""
        args: list[EncodableT] = [
            owner, lease_ms, batch.after, batch.batch, batch.first, batch.last,
            batch.channel, batch.team, f"{batch.at:.6f}", f"{batch.tried:.6f}",
            "1" if batch.unverified else "0"]
        return bool(await self._begin(keys=[self._lease, self._cursor, self._pending],
                                      args=args))

    @unavailable_on_redis_errors
    async def finish(self, batch: PendingBatch) -> bool:
        """Move the cursor past `batch` and forget it as pending, in one step."""
        return bool(await self._finish(keys=[self._cursor, self._pending],
                                       args=[batch.batch, batch.after, batch.last]))

    @unavailable_on_redis_errors
    async def drop(self, batch_id: str) -> bool:
        """Forget a pending batch that was certainly not posted."""
        return bool(await self._drop(keys=[self._pending], args=[batch_id]))
