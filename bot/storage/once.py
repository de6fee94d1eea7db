"""Marks that make a delivery Slack may repeat count once, across every bot process.

Slack repeats deliveries: a double click or a proxy retry submits the same form twice,
the Events API retries an event it thinks was lost (`X-Slack-Retry-Num`), and a
captured click can be replayed. Each is identified by what Slack put in it (view id,
event id, trigger id) and marked in Redis with SET NX and a TTL longer than Slack
repeats anything.
"""

from __future__ import annotations

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

PENDING = "pending"

# A mark's holder replaces or removes it only while it is still theirs: a mark that
# expired and was taken by another request is left alone.
# KEYS[1] the mark; ARGV[1] what the holder wrote; ARGV[2] the new value ("" to remove it);
# ARGV[3] its time to live (s)
# -> 1 done | 0 the mark is another's (or gone): nothing changed
SETTLE_IF_MINE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
"""


class OnceMarks:
    """First-comer marks in Redis (the connection and key space are passed in)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._settle_if_mine = redis.register_script(SETTLE_IF_MINE)

    @unavailable_on_redis_errors
    async def first(self, kind: str, *parts: str, ttl_seconds: int) -> bool:
        """True for the first caller with these parts; False for every repeat."""
        return bool(await self._redis.set(self._keys.once(kind, *parts), "1", nx=True,
                                          ex=ttl_seconds))

    @unavailable_on_redis_errors
    async def begin(self, kind: str, *parts: str, ttl_seconds: int,
                    pending: str = PENDING) -> str | None:
        """Start work that may be repeated: None for the first caller (the mark now says
        `pending`), else what the mark says (a pending value, or what `settle` wrote)."""
        previous = await self._redis.set(self._keys.once(kind, *parts), pending, nx=True,
                                         get=True, ex=ttl_seconds)
        return replies.optional_text(previous)

    @unavailable_on_redis_errors
    async def settle_if_mine(self, kind: str, *parts: str, pending: str, outcome: str,
                             ttl_seconds: int) -> bool:
        """`settle` (or with outcome "", `forget`) only while the mark still says
        `pending`, what this caller's `begin` wrote; False when it is another's now."""
        done = await self._settle_if_mine(keys=[self._keys.once(kind, *parts)],
                                          args=[pending, outcome, ttl_seconds])
        return bool(done)

    @unavailable_on_redis_errors
    async def settle(self, kind: str, *parts: str, outcome: str, ttl_seconds: int) -> None:
        """The work is done: repeats within `ttl_seconds` are told `outcome`."""
        await self._redis.set(self._keys.once(kind, *parts), outcome, ex=ttl_seconds)

    @unavailable_on_redis_errors
    async def forget(self, kind: str, *parts: str) -> None:
        """The work did not happen (bad input, say): a repeat may try again."""
        await self._redis.delete(self._keys.once(kind, *parts))
