"""Rate-limit windows in Redis: one atomic script per check, shared by every replica."""

from __future__ import annotations

import secrets

from bot.storage import scripts
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace


class RedisRateCounter:
    """Counts a person's attempts at an action within a sliding window."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._keys = keys
        self._rate = redis.register_script(scripts.RATE)

    @unavailable_on_redis_errors
    async def attempt(self, action: str, *, team_id: str, user_id: str, limit: int,
                      window_seconds: int, now: float, count: bool = True) -> float:
        """0 when the attempt is allowed (and then counted, unless `count` is False), else
        the seconds until one will be."""
        allowed, wait_ms = await self._rate(
            keys=[self._keys.rate(action, team_id, user_id)],
            args=[int(now * 1000), window_seconds * 1000, limit,
                  f"{now:.6f}:{secrets.token_hex(4)}", "1" if count else "0"])
        return 0.0 if allowed else int(wait_ms) / 1000
