"""Logging set-up for the process: JSON lines or text, with context and scrubbing.

`LOG_FORMAT=auto` (the default) writes text when stderr is a terminal (a developer
running `make run`) and JSON lines otherwise (containers, systemd, files: whatever
collects logs in production); `json` or `text` forces one.
"""

from __future__ import annotations

import base64
import logging
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from bot.telemetry.logformat import JsonFormatter, TextFormatter
from bot.telemetry.scrub import Scrubber

if TYPE_CHECKING:
    from bot.config import Settings

# These libraries log request and response bodies at DEBUG, and bodies carry secrets
# (a view_submission holds the plaintext, views.open the revealed modal): they never
# log below WARNING, whatever LOG_LEVEL says.
_QUIET = ("slack_sdk", "slack_bolt", "aiohttp", "redis", "asyncio")


def configure(level: str, *, fmt: str = "auto", secrets: Iterable[str] = (),
              stream: TextIO | None = None) -> None:
    """Send every log record (ours, the libraries', uvicorn's, warnings and uncaught
    exceptions) to `stream` (stderr) as JSON lines or text, scrubbed of `secrets`."""
    stream = stream or sys.stderr
    scrubber = Scrubber(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(scrubber) if resolve_format(fmt, stream) == "json"
                         else TextFormatter(scrubber))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)
    quiet_libraries()
    _log_uncaught()


def resolve_format(fmt: str, stream: TextIO) -> str:
    """"json" or "text": `auto` is text on a terminal, JSON anywhere else."""
    fmt = fmt.lower()
    if fmt in {"json", "text"}:
        return fmt
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def quiet_libraries() -> None:
    """Hold the libraries that log bodies at WARNING or above."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def secret_values(settings: Settings) -> list[str]:
    """Every configured credential, as it could appear in text: for the Scrubber."""
    values = [s.get_secret_value() for s in (settings.slack_bot_token,
                                             settings.slack_signing_secret,
                                             settings.slack_app_token,
                                             settings.slack_client_secret,
                                             settings.metrics_token) if s is not None]
    password = urlsplit(settings.redis_url.get_secret_value()).password
    if password:
        values.append(password)
    for key in settings.encryption_keys:
        values += [base64.b64encode(key.material).decode(),
                   base64.urlsafe_b64encode(key.material).decode(),
                   base64.b64encode(key.material).decode().rstrip("="),
                   key.material.hex()]
    return values


def _log_uncaught() -> None:
    # An exception nothing caught would otherwise print a raw traceback (message
    # included) to stderr, outside the format and the scrubbing.
    logger = logging.getLogger("bot.uncaught")

    def on_uncaught(kind: type[BaseException], exc: BaseException,
                    tb: TracebackType | None) -> None:
        logger.critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            logger.critical("uncaught %s in a thread", args.exc_type.__name__,
                            exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread
