"""Deliveries Slack may repeat, taken in once (marks in Redis, shared by every replica).

- A form submitted twice has the same view id (bot.handlers.submissions).
- An Events API retry (`X-Slack-Retry-Num`) carries the first delivery's event id.
- A replayed Reveal click carries the first click's trigger id (marked with the reveal
  rate limit, in one step: bot.secrets.limits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps
from bot.handlers.submissions import DONE_SECONDS


class EventsOnce(AsyncMiddleware):
    """Acknowledges a repeated Events API delivery without handling it again.

    A middleware class, not a function: Bolt builds every argument a function middleware
    could ask for from the body, and that fails on a malformed interaction payload."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            try:
                first = await self._deps.once.first("event", event_id[:64],
                                                    ttl_seconds=DONE_SECONDS)
            except StorageUnavailable:
                first = True  # handled again rather than lost: events here are idempotent
            if not first:
                return BoltResponse(status=200, body="")
        return await next()


def register(app: AsyncApp, deps: Deps) -> None:
    """Acknowledge a repeated event without handling it again."""
    app.use(EventsOnce(deps))
