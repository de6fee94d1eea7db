"""Which conversation is the bot's DM with a person: remembered, so a DM is one Slack call.

conversations.open answers the same IM channel for one bot and one person every time,
and it is a Tier 3 method (about 50 calls a minute), so asking it before every Reveal
message, receipt or notice would cost a call each and run into its limit first.

Kept in each process, not in Redis: a lookup here costs nothing while a Redis one is a
round trip, about what it saves; a replica that has not seen a person yet opens their
DM once, which is correct, just one call more. The channel id is no secret. Entries are
bounded (least recently used go first) and age out, and the caller forgets one as soon
as Slack answers that it no longer works (`STALE_ERRORS`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

# Answers to a post into a remembered DM that say the channel id is no good any more: the
# DM is opened again once.
STALE_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})


class DmChannels:
    """A bounded LRU of DM channel ids by (bot token, person), each kept `ttl_seconds`."""

    def __init__(self, *, size: int = 20_000, ttl_seconds: float = 6 * 3600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def get(self, token: str, user: str) -> str | None:
        """The DM channel remembered for this bot (its token) and person, if fresh."""
        key = (token, user)
        entry = self._entries.get(key)
        if entry is None:
            return None
        channel, until = entry
        if until <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return channel

    def put(self, token: str, user: str, channel: str) -> None:
        self._entries[(token, user)] = (channel, self._clock() + self._ttl)
        self._entries.move_to_end((token, user))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, token: str, user: str, channel: str) -> None:
        """Drop the entry, if it still names `channel` (another call may have renewed it)."""
        entry = self._entries.get((token, user))
        if entry is not None and entry[0] == channel:
            del self._entries[(token, user)]

    def __len__(self) -> int:
        return len(self._entries)
