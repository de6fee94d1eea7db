"""Secrets: share, reveal, revoke, expire; form validation, formats, rate limits, key rotation.

No Slack request objects in here: handlers parse, call these services, and render.

The names below are this package's interface for code outside the bot (the benchmarks):
they stay put when modules inside move. Each is loaded on first use, so that the layers
that read one module of it (render reads `bot.secrets.limits`) do not pull in the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.secrets.lifecycle import LifecycleService
    from bot.secrets.sharing import SharingService

__all__ = ["LifecycleService", "SharingService"]

_HOMES = {"LifecycleService": "bot.secrets.lifecycle", "SharingService": "bot.secrets.sharing"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
