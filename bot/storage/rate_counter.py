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
    async def attempt(self, action: str, *, team_id: str, user_id: str, limit: int | None,
                      window_seconds: int, now: float, count: bool = True,
                      once: str | None = None, once_seconds: int = 0) -> float | None:
        """0 when the attempt is allowed (and then counted, unless `count` is False), else
        the seconds until one will be; no `limit`: always allowed. With `once` (a token
        naming the attempt, marked for `once_seconds`), None for a repeat of one already
        taken in, before anything is counted."""
        keys = [self._keys.rate(action, team_id, user_id)]
        if once is not None:
            keys.append(self._keys.attempt(action, team_id, user_id, once))
        allowed, wait_ms = await self._rate(
            keys=keys, args=[int(now * 1000), window_seconds * 1000,
                             -1 if limit is None else limit,
                             f"{now:.6f}:{secrets.token_hex(4)}", "1" if count else "0",
                             once_seconds])
        if int(allowed) < 0:
            return None
        return 0.0 if int(allowed) else int(wait_ms) / 1000
