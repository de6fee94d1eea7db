"""The framework floor: Bolt's AsyncApp whose listeners only acknowledge.

    python -m benchmarks.floor_app   (env: PORT, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN,
                                      SLACK_API_URL)

It is served exactly as the bot is: the bot's own ASGI front (`bot.web.asgi.BotASGI`, with
the runtime swapped for one that holds only this Bolt app) under uvicorn with the
bot's server settings (one process, uvloop, httptools, no access log). Whatever the
bot costs beyond this is the cost of its own logic.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import uvicorn
from pydantic import SecretStr
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.payloads import COMMAND
from bot import render
from bot.web.asgi import BotASGI
from bot.web.readiness import Readiness


@dataclass
class FloorRuntime:
    """The part of `bot.runtime.Runtime` that `BotASGI` uses."""

    bolt: AsyncApp

    async def ready(self) -> Readiness:
        return Readiness(ready=True, reason="ok")

    async def metrics_page(self) -> bytes:
        return b""

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        # Bolt alone: the floor measures the framework, without the bot's telemetry.
        return await self.bolt.async_dispatch(request)

    async def close(self) -> None:
        return None


def build_app(*, token: str, signing_secret: str, api_url: str) -> AsyncApp:
    """Same Bolt settings as the bot (process_before_response), listeners that only ack."""
    app = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url),
                   signing_secret=signing_secret, process_before_response=True,
                   logger=logging.getLogger("slack_bolt"))

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.action(render.REVEAL_ACTION)(only_ack)
    app.view(render.SHARE_CALLBACK)(only_ack)
    app.command(COMMAND)(only_ack)
    return app


class FloorASGI(BotASGI):
    """BotASGI with the floor's runtime instead of the bot's."""

    def __init__(self, app: AsyncApp, *, signing_secret: str) -> None:
        # Only the fields BotASGI reads from Settings (it checks signatures itself).
        settings = SimpleNamespace(slack_signing_secret=SecretStr(signing_secret),
                                   metrics_token=None, metrics_port=None, socket_mode=False,
                                   public_url=None, public_origin=None, trusted_proxies=())
        super().__init__(settings, logger=logging.getLogger("floor"))  # type: ignore[arg-type]
        self._app = app

    async def _lifespan(self, receive, send) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.runtime = FloorRuntime(self._app)  # type: ignore[assignment]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    app = build_app(token=os.environ["SLACK_BOT_TOKEN"],
                    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
                    api_url=os.environ["SLACK_API_URL"])
    # The same uvicorn settings as bot/__main__.py's _serve_http.
    asgi = FloorASGI(app, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    uvicorn.run(asgi, host="127.0.0.1", port=int(os.environ["PORT"]),
                lifespan="on", access_log=False, log_level="warning",
                timeout_graceful_shutdown=10, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
