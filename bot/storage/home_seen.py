"""Who has opened the app's Home tab: a mark per person, so that a change (a share, a
revoke) republishes only the Home tabs someone looks at.

Slack sends `app_home_opened` each time a person opens the tab, and the bot publishes it
afresh then; a person who never opened it has nothing to keep up to date. Republishing
everyone's Home after each change cost a share a Redis read of the sender's secrets, a
render and a `views.publish` (Tier 4: about 100 a minute per workspace, which a burst of
shares would run into). The mark is in Redis, not in the process, so that every replica
sees a person open the tab wherever the event arrived.
"""

from __future__ import annotations

from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# A person who has not opened the tab for this long is treated as one who never did: the
# next time they open it, it is published afresh all the same.
SEEN_SECONDS = 90 * 86_400


class HomeSeen:
    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    @unavailable_on_redis_errors
    async def note(self, team_id: str, user_id: str) -> None:
        """They opened their Home tab now."""
        await self._redis.set(self._keys.home_seen(team_id, user_id), "1", ex=SEEN_SECONDS)

    @unavailable_on_redis_errors
    async def seen(self, team_id: str, user_id: str) -> bool:
        """Whether they have opened it (within SEEN_SECONDS)."""
        return bool(await self._redis.exists(self._keys.home_seen(team_id, user_id)))
