"""Counts of one person's refusals per time window, shared by every replica."""

from __future__ import annotations

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# KEYS[1] the person's counter for the window; ARGV[1] how long it lives (ms)
# -> the count, this refusal included
COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRefusalCounter:
    """One counter per person and window, living a few windows."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._count = redis.register_script(COUNT)

    @unavailable_on_redis_errors
    async def count(self, *, team_id: str, user_id: str, window: int,
                    lifetime_seconds: int) -> int:
        """Count one refusal in `window`; how many there were, this one included."""
        return int(await self._count(keys=[self._keys.refusals(team_id, user_id, window)],
                                     args=[lifetime_seconds * 1000]))

    @unavailable_on_redis_errors
    async def total(self, *, team_id: str, user_id: str, window: int) -> int:
        """How many refusals were counted in `window` (0 once it is forgotten)."""
        found = replies.optional_text(
            await self._redis.get(self._keys.refusals(team_id, user_id, window)))
        return int(found or 0)
