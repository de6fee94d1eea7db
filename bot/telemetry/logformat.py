"""Log lines: JSON (one object per line) for machines, or text for people.

Both formatters add the request context (bot.telemetry.context), render exceptions as
their type and stack frames only (an exception's message may quote a payload, so it is
never logged), and pass the finished line through a Scrubber.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from types import TracebackType
from typing import Any

from bot.telemetry import context
from bot.telemetry.scrub import Scrubber

# Attributes every LogRecord has; anything else on a record came from `extra=`.
# (uvicorn adds `color_message`, the message with terminal colour codes.)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def describe_exception(exc_info: ExcInfo | tuple[None, None, None]) -> str:
    """Type and frames of an exception and of those it was raised from, never messages."""
    _, exc, _ = exc_info
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}".rstrip())
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\nwhile handling or raised from:\n".join(parts)


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, context, extras."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self._scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"timestamp": _iso(record.created), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        line.update(context.current())
        line.update(_extras(record))
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = describe_exception(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        return self._scrub(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [context]: message key=value ...` for a terminal."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self._scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = {**context.current(), **_extras(record)}
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        text = (f"{stamp}.{int(record.created % 1 * 1000):03d} {record.levelname:<7} "
                f"{record.name}: {record.getMessage()}" + (f"  {tail}" if tail else ""))
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + describe_exception(record.exc_info)
        return self._scrub(text)
