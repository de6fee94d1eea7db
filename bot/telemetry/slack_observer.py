"""Counts failed Slack Web API calls, by method and error, as a retry handler that
never retries.

The SDK asks its retry handlers about every answer and every transport error of every
attempt. Bolt copies the app client's handlers into the client it makes for each
request, and `without_retries` keeps this one, so every Web API call the bot makes
passes here, whichever client made it.
"""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.telemetry.metrics import Metrics


class SlackCallObserver(AsyncRetryHandler):
    """Put first among the retry handlers; it only watches."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest,
                              response: HttpResponse | None = None,
                              error: Exception | None = None) -> bool:
        code = failure_code(response, error)
        if code is not None:
            self._metrics.slack_error(method_of(request.url), code)
        return False


def failure_code(response: HttpResponse | None, error: Exception | None) -> str | None:
    """Slack's error code, `http_NNN`, or the transport error's type; None for success."""
    if error is not None:
        return type(error).__name__
    if response is None:
        return None
    body = response.body if isinstance(response.body, dict) else {}
    if response.status_code == 429:
        return "ratelimited"
    if body.get("ok") is False:
        return str(body.get("error") or "unknown")
    if response.status_code >= 400:
        return f"http_{response.status_code}"
    return None


def method_of(url: str) -> str:
    """The Web API method a URL calls (the last path segment: `chat.postMessage`)."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
