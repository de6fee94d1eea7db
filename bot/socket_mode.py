"""Socket Mode: the same Bolt app, fed over Slack's websocket instead of HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.slack_calls import SLACK_FAILURES

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
    handler = AsyncSocketModeHandler(runtime.bolt, app_token)
    try:
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
        finally:
            await runtime.close()


async def _check_app_token(runtime: Runtime, app_token: str) -> None:
    try:
        await runtime.bolt.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        code = exc.response.get("error")
        if code in _REFUSED:
            raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({code})") from None
    except SLACK_FAILURES:
        pass  # Slack down or rate limited: for the retrying connect to ride out
