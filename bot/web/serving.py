"""HTTP mode under uvicorn: WEB_CONCURRENCY worker processes on HOST:PORT.

With one worker uvicorn serves in this process; with more, a supervisor process binds
the socket and starts each worker afresh (spawn), so the workers import the app by name
and build it with `create_app`. Each worker builds its own Runtime at lifespan start:
clients, scheduler and audit outbox are per process, and the storage makes the
replicas agree (see docs/replicas-and-redis.md).

With METRICS_PORT, a second socket is bound on METRICS_HOST and served by the same app
(and, with several workers, by each of them): the app tells the two apart by the port a
request came in on (bot.web). A scrape of any worker sums every worker's metrics.

In Socket Mode, Slack's events come over a websocket and nothing needs HTTP, except the
web pages of external secrets: with PUBLIC_URL, `Listener` serves the app on HOST:PORT
inside the Socket Mode process, over its runtime (the pages, /healthz, /readyz, /metrics).

SIGTERM stops gracefully: the listening socket closes, requests in flight are answered
(up to GRACEFUL_SECONDS), then the Runtime drains its follow-up work and stops its
scheduler and outbox (bot.runtime), and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.telemetry import logs
from bot.web.asgi import BotASGI

APP_FACTORY = "bot.web.serving:create_app"
GRACEFUL_SECONDS = 10  # for requests in flight: Slack gives each one 3 s anyway
EXIT_STARTUP_FAILED = 3  # uvicorn's own status when the app cannot start


def create_app() -> BotASGI:
    """The app for one worker process. A worker is an entry point of its own (it starts
    from nothing), so it reads the settings and sets up logging: the same environment as
    its supervisor's, which checked them already (and set PROMETHEUS_MULTIPROC_DIR)."""
    settings = load_settings()
    logs.configure(settings.log_level, fmt=settings.log_format,
                   secrets=logs.secret_values(settings))
    return BotASGI(settings, logger=logging.getLogger("bot"), freeze_heap=True)


def serve_http(settings: Settings, logger: logging.Logger) -> int:
    """Serve until SIGTERM or SIGINT; the process's exit status."""
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=settings.host, port=settings.port,
        workers=settings.web_concurrency, lifespan="on", access_log=False,
        log_level=settings.log_level.lower(), timeout_graceful_shutdown=GRACEFUL_SECONDS,
        # Keep the logging set up by the entry point (JSON lines, scrubbed): uvicorn's
        # loggers propagate to it instead of getting handlers of their own.
        log_config=None, server_header=False,
        # The client's address is the pages' business (TRUSTED_PROXIES, bot.web.client_ip):
        # uvicorn would otherwise rewrite it from X-Forwarded-For for peers it trusts.
        proxy_headers=False)
    logger.info("serving HTTP on %s:%s with %d worker process(es) (POST /slack/events)",
                settings.host, settings.port, config.workers)
    sockets = None
    if settings.metrics_port is not None:
        # Bound here, with the public one, so that every worker serves both.
        sockets = [config.bind_socket(), _metrics_socket(config, settings)]
        logger.info("serving /metrics, /readyz and /healthz on %s:%s as well",
                    settings.metrics_host, settings.metrics_port)
    if config.workers == 1:
        return _serve_here(config, sockets)
    supervisor = Multiprocess(config, sockets=sockets or [config.bind_socket()])
    supervisor.run()
    # The supervisor gives up when a worker fails before serving (its exit status says
    # so): say it with ours too, or an orchestrator would count the stop as clean.
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return EXIT_STARTUP_FAILED if failed else 0


def _metrics_socket(config: uvicorn.Config, settings: Settings) -> socket.socket:
    """The metrics listener's socket, bound as uvicorn binds the public one."""
    assert settings.metrics_port is not None
    listener = uvicorn.Config(config.app, host=settings.metrics_host, port=settings.metrics_port,
                              log_config=None)
    return listener.bind_socket()


def _serve_here(config: uvicorn.Config, sockets: list[socket.socket] | None) -> int:
    server = uvicorn.Server(config)

    # uvicorn re-raises the signal that stopped it once it has shut down, under the
    # handler that was there before; by default SIGTERM would then kill the process
    # (status -15) after a clean stop. This handler makes the stop an exit 0, and a
    # SIGTERM that arrives before uvicorn takes over its signals still stops it.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    server.run(sockets=sockets)
    return 0 if server.started else EXIT_STARTUP_FAILED


class Listener:
    """The app on HOST:PORT beside Socket Mode, over its running runtime: one uvicorn
    server in the same event loop, which leaves signals to Socket Mode."""

    def __init__(self, settings: Settings, runtime: Runtime, logger: logging.Logger) -> None:
        app = BotASGI(settings, logger=logger, runtime=runtime)
        self._settings = settings
        self._logger = logger
        self._server = _ServerWithoutSignals(uvicorn.Config(
            app, lifespan="off", access_log=False, log_config=None, server_header=False,
            proxy_headers=False, timeout_graceful_shutdown=GRACEFUL_SECONDS))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, or raise ConfigError when HOST:PORT cannot be bound."""
        host, port = self._settings.host, self._settings.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listening = socket.create_server((host, port), family=family)
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            raise ConfigError(f"cannot listen on HOST:PORT ({host}:{port}) for the web "
                              f"pages: {why}") from None
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[listening]), name="pages-listener")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises what stopped it
            raise ConfigError("the web pages' listener stopped as it started")
        self._logger.info("serving the web pages (PUBLIC_URL) on %s:%s", host, port)

    async def stop(self) -> None:
        """Finish the requests in flight (up to GRACEFUL_SECONDS), then stop listening."""
        if self._task is not None:
            self._server.should_exit = True
            await self._task


class _ServerWithoutSignals(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the Socket Mode process stops on its own signals, and stops this
