"""Socket Mode: the same Bolt app, fed over Slack's websocket instead of HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.config import Settings
from bot.runtime import Runtime


async def run(settings: Settings, *, logger: logging.Logger) -> None:
    """Connect and serve until SIGINT or SIGTERM, then close cleanly."""
    assert settings.slack_app_token is not None
    runtime = await Runtime.start(settings, logger=logger)
    handler = AsyncSocketModeHandler(runtime.bolt, settings.slack_app_token.get_secret_value())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await handler.connect_async()
    logger.info("connected to Slack in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()
        await runtime.close()
