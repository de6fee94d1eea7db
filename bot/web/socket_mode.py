"""Socket Mode: the same Bolt app, fed over Slack's websocket instead of HTTP (and, with
PUBLIC_URL, the web pages served on HOST:PORT by bot.web.serving.Listener)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Protocol

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.config import Settings
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.slack.calls import SLACK_FAILURES
from bot.web.serving import Listener

# Answers to apps.connections.open that no retry will change: the token is wrong.
_REFUSED = {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked",
            "account_inactive"}


async def run(settings: Settings, *, logger: logging.Logger) -> None:
    """Connect and serve until SIGINT or SIGTERM, then close cleanly.

    Raises ConfigError when Slack refuses the app token, rather than retrying forever.
    """
    assert settings.slack_app_token is not None
    app_token = settings.slack_app_token.get_secret_value()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = await Runtime.start(settings, logger=logger)
    handler: _Connection = _Handler(runtime, app_token)
    listener = Listener(settings, runtime, logger) if settings.public_url else None
    try:
        if listener is not None:
            await listener.start()  # the web pages of external secrets need HTTP
        await _check_app_token(runtime, app_token)
        # The SDK retries a failing connect for ever: race it against the stop signal so
        # that SIGTERM is honoured even while Slack cannot be reached.
        connecting = asyncio.create_task(handler.connect_async())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            logger.info("connected to Slack in Socket Mode")
            await stopping
        else:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
    finally:
        try:
            await handler.close_async()
            if listener is not None:
                await listener.stop()
        finally:
            await runtime.close()


class _Connection(Protocol):
    """What `run` uses of the handler (Bolt's adapter leaves these unannotated)."""

    async def connect_async(self) -> None: ...
    async def close_async(self) -> None: ...


class _Handler(AsyncSocketModeHandler):
    """Bolt's handler, dispatching through the runtime (which times, counts and logs each
    envelope under a request id of its own: the SDK handles each in a task of its own)."""

    def __init__(self, runtime: Runtime, app_token: str) -> None:
        super().__init__(runtime.bolt, app_token)
        self._runtime = runtime

    async def handle(self, client: AsyncBaseSocketModeClient,
                     req: SocketModeRequest) -> None:
        start = time.time()
        request = AsyncBoltRequest(mode="socket_mode", body=req.payload,
                                   headers=build_headers(req))
        response = await self._runtime.dispatch(request)
        await send_async_response(client, req, response, start)


async def _check_app_token(runtime: Runtime, app_token: str) -> None:
    try:
        await runtime.bolt.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        code = exc.response.get("error")
        if code in _REFUSED:
            raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({code})") from None
    except SLACK_FAILURES:
        pass  # Slack down or rate limited: for the retrying connect to ride out
