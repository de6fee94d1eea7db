"""Retrying Slack Web API calls that failed for a passing reason, within Slack's limits.

Deliveries (Reveal messages, receipts) are retried here rather than by the SDK's
handlers, so that one policy covers every passing failure: a 429 waits the
`Retry-After` Slack asked for (a longer wait than `MAX_WAIT_SECONDS` is not waited
for: the call counts as failed and the sender can retry later); a 5xx answer, one of
Slack's internal errors, a timeout or a dropped connection waits a short backoff.
Errors that say the call can never work (`user_not_found`, `cannot_dm_bot`...) are
not retried. A retried post whose first answer was lost may arrive twice: for a
Reveal message that is harmless (the button still reveals within the view limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError

T = TypeVar("T")

ATTEMPTS = 4
MAX_WAIT_SECONDS = 30.0
BACKOFF_SECONDS = (0.5, 1.0, 2.0)
# ok:false answers that mean "Slack had a problem", not "this can never work".
PASSING_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable",
                            "request_timeout", "ratelimited"})


def retry_wait(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before trying again after `exc` (attempt counts from 0), or None
    when it should not be retried."""
    backoff = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
            try:
                wait = float(headers.get("retry-after", "1"))
            except (TypeError, ValueError):
                wait = 1.0
            return wait if 0 <= wait <= MAX_WAIT_SECONDS else None
        if status >= 500 or exc.response.get("error") in PASSING_ERRORS:
            return backoff
        return None
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return backoff
    return None


async def retried(call: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """`call()`, tried up to `attempts` times while it fails for a passing reason; the
    last failure is raised."""
    attempt = 0
    while True:
        try:
            return await call()
        except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
            wait = retry_wait(exc, attempt)
            attempt += 1
            if wait is None or attempt >= attempts:
                raise
        await sleep(wait)
