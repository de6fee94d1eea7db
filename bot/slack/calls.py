"""What can go wrong calling Slack, named once."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.telemetry.slack_observer import SlackCallObserver

# A Web API call fails with SlackApiError (ok:false, or 429 after retries), another
# SlackClientError, or a transport error from aiohttp or a timeout.
SLACK_FAILURES: tuple[type[BaseException], ...] = (
    SlackClientError, aiohttp.ClientError, asyncio.TimeoutError)


def failure_reason(exc: BaseException) -> str:
    """A short, content-free reason for logs: Slack's error code or the error's type."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


def without_retries(client: AsyncWebClient, *, timeout: float | None = None) -> AsyncWebClient:
    """The same workspace's client, minus the SDK's retries (and with its own timeout):
    for calls whose retry after a lost answer would do something twice (show a secret,
    post an audit message), or that must answer within a bound (an admin check)."""
    # Observers stay: they never retry, they count failures for the metrics.
    observers: list[AsyncRetryHandler] = [
        h for h in client.retry_handlers if isinstance(h, SlackCallObserver)]
    seconds = timeout if timeout is not None else client.timeout
    return AsyncWebClient(token=client.token, base_url=client.base_url,
                          session=client.session,
                          timeout=seconds,  # type: ignore[arg-type]  # sdk says int; aiohttp takes 0.5
                          logger=client.logger, retry_handlers=observers)
