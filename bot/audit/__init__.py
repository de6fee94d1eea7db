"""The audit log: every event's wording and nonce, the durable stream, the outbox to the
audit channel, the events a change owes, merged refusals, and the check that a post arrived.

The names below are this package's interface for code outside the bot (the benchmarks):
they stay put when modules inside move. Each is loaded on first use, so that the layers
below the log that read `bot.audit.owed` (storage) do not pull in the whole package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.audit.events import secret_created
    from bot.audit.log import DurableAuditLog

__all__ = ["DurableAuditLog", "secret_created"]

_HOMES = {"DurableAuditLog": "bot.audit.log", "secret_created": "bot.audit.events"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
