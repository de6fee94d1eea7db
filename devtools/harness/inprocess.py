"""The real ASGI app under uvicorn, in this process on a thread, with a clock tests move.

For behaviour that depends on time (expiry, sweeps, lockouts): requests still go over
real HTTP with signed bodies, but the bot's clock is a `FakeClock`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import uvicorn
from port_for import get_port

from bot.config import Settings
from bot.runtime import Runtime
from bot.telemetry import logs
from bot.web.asgi import BotASGI
from devtools.harness.bot_process import http_request
from devtools.harness.clock import FakeClock

T = TypeVar("T")


class InProcessBot:
    """uvicorn serving BotASGI on a free port, on a background thread."""

    def __init__(self, settings: Settings, *, clock: FakeClock) -> None:
        self.port = get_port(None)
        self.asgi = BotASGI(settings, clock=clock)
        self.clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = uvicorn.Server(uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning",
            interface="asgi3", proxy_headers=False,  # as bot.web.serving serves
            access_log=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._log = io.StringIO()
        self._handler = logging.StreamHandler(self._log)
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            self._loop = asyncio.get_running_loop()  # where the bot's tasks run
        await self.asgi(scope, receive, send)

    def __enter__(self) -> InProcessBot:
        # As `python -m bot` does at LOG_LEVEL=DEBUG: the bot's own loggers at their
        # chattiest, the body-logging libraries held back.
        logs.quiet_libraries()
        logging.getLogger("bot").setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self._handler)
        self._thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._server.started:
                return self
            time.sleep(0.02)
        raise RuntimeError("the in-process bot did not start")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(15)
        logging.getLogger().removeHandler(self._handler)

    @property
    def runtime(self) -> Runtime:
        assert self.asgi.runtime is not None
        return self.asgi.runtime

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the bot's event loop (e.g. a sweep) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return http_request(self.port, method, path, body, headers)

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def log_text(self) -> str:
        """Everything logged in this process while the bot ran (any logger, any level)."""
        return self._log.getvalue()
