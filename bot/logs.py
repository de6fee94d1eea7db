"""Logging set-up for the process."""

from __future__ import annotations

import logging
import sys

# These libraries log request and response bodies at DEBUG, and bodies carry secrets
# (a view_submission holds the plaintext, views.open the revealed modal): they never
# log below WARNING, whatever LOG_LEVEL says.
_QUIET = ("slack_sdk", "slack_bolt", "aiohttp", "redis", "asyncio")


def configure(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    quiet_libraries()


def quiet_libraries() -> None:
    """Hold the libraries that log bodies at WARNING or above."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
