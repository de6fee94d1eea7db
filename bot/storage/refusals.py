"""Counts of one person's refusals per time window, shared by every replica, and the
windows whose summary event is still owed."""

from __future__ import annotations

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# KEYS[1] the person's counter for the window, KEYS[2] the summaries due
# ARGV[1] how long the counter lives (ms), ARGV[2] how many are audited one by one,
# ARGV[3] the window's member in KEYS[2], ARGV[4] when its summary is due (unix s)
# -> the count, this refusal included (the first one past the limit notes the summary
#    owed, in the same step: a process that dies before recording it leaves it to others)
COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n == tonumber(ARGV[2]) + 1 then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
return n
"""


class RedisRefusalCounter:
    """One counter per person and window, living long enough for a late summary."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._count = redis.register_script(COUNT)

    @unavailable_on_redis_errors
    async def count(self, *, team_id: str, user_id: str, window: int, lifetime_seconds: int,
                    limit: int, due_at: float) -> int:
        """Count one refusal in `window`; how many there were, this one included. The
        first one past `limit` notes the window's summary as owed from `due_at`."""
        return int(await self._count(
            keys=[self._keys.refusals(team_id, user_id, window), self._keys.refusals_due()],
            args=[lifetime_seconds * 1000, limit, _member(team_id, user_id, window),
                  f"{due_at:.3f}"]))

    @unavailable_on_redis_errors
    async def total(self, *, team_id: str, user_id: str, window: int) -> int:
        """How many refusals were counted in `window` (0 once it is forgotten)."""
        found = replies.optional_text(
            await self._redis.get(self._keys.refusals(team_id, user_id, window)))
        return int(found or 0)

    @unavailable_on_redis_errors
    async def owed(self, *, before: float, limit: int = 100) -> list[tuple[str, str, int]]:
        """Windows whose summary was due before `before` and is not recorded yet, as
        (team, person, window), oldest first."""
        found = await self._redis.zrangebyscore(self._keys.refusals_due(), "-inf",
                                                f"{before:.3f}", start=0, num=limit)
        owed = []
        for member in found:
            team_id, user_id, window = replies.text(member).split("|")
            owed.append((team_id, user_id, int(window)))
        return owed

    @unavailable_on_redis_errors
    async def recorded(self, *, team_id: str, user_id: str, window: int) -> None:
        """The window's summary is stored: nobody owes it any more."""
        await self._redis.zrem(self._keys.refusals_due(), _member(team_id, user_id, window))


def _member(team_id: str, user_id: str, window: int) -> str:
    return f"{team_id}|{user_id}|{window}"
