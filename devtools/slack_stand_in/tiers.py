"""Slack's per-minute rate tiers (https://docs.slack.dev/apis/web-api/rate-limits), for
the methods the stand-in enforces them on: more calls to one method from one workspace
within a minute than its tier allows are answered HTTP 429 `ratelimited` with a
`Retry-After` (seconds until the oldest call leaves the minute).

Only `ENFORCED` methods are counted; the others' limits are not modelled (tests arm
`rate_limit()` faults instead), so the benchmark and the floods are not throttled by a
model of limits Slack applies more loosely ("50+ per minute": Slack allows bursts; the
stand-in allows the documented floor, which is the side a careful caller must keep to).
"""

from __future__ import annotations

import math
from collections import deque

# Calls per minute by tier (Tier 1 is "1+", Tier 2 "20+", Tier 3 "50+", Tier 4 "100+").
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
# Method -> its tier, where the stand-in enforces it.
ENFORCED = {"users.lookupByEmail": 3}
WINDOW_SECONDS = 60.0


class RateWindows:
    """Calls in the last minute per (workspace, method), for the methods with a limit."""

    def __init__(self) -> None:
        self.per_minute = {method: TIER_PER_MINUTE[tier] for method, tier in ENFORCED.items()}
        self._calls: dict[tuple[str, str], deque[float]] = {}

    def take(self, team_id: str, method: str, now: float) -> int | None:
        """Count a call; None when it is within its method's limit, else the seconds
        Retry-After should say (the call is then not counted)."""
        limit = self.per_minute.get(method)
        if limit is None:
            return None
        calls = self._calls.setdefault((team_id, method), deque())
        while calls and calls[0] <= now - WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= limit:
            return max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
        calls.append(now)
        return None

    def clear(self) -> None:
        """Forget the calls counted (the limits stay)."""
        self._calls.clear()
