"""What can go wrong calling Slack, named once."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

# A Web API call fails with SlackApiError (ok:false, or 429 after retries), another
# SlackClientError, or a transport error from aiohttp or a timeout.
SLACK_FAILURES: tuple[type[BaseException], ...] = (
    SlackClientError, aiohttp.ClientError, asyncio.TimeoutError)


def failure_reason(exc: BaseException) -> str:
    """A short, content-free reason for logs: Slack's error code or the error's type."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__
