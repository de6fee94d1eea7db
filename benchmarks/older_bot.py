"""The bot's services as the benchmark reaches them in a bot committed before the
`bot.secrets` and `bot.audit` facades (for `--ref` runs against such commits): its modules
sat first at the top of bot/, then in the packages. Newer bots are reached through the
facades only (benchmarks/storage.py), so later moves inside the packages need nothing here.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, NamedTuple


def _first(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _needed(*names: str) -> ModuleType:
    found = _first(*names)
    if found is None:
        raise ImportError(f"none of {', '.join(names)} in this bot")
    return found


_notices = _needed("bot.secrets.notices", "bot.notices")
_lifecycle = _first("bot.secrets.lifecycle", "bot.lifecycle")  # older: no expiry sweep
SharingService: Any = _needed("bot.secrets.sharing", "bot.sharing").SharingService
DurableAuditLog: Any = _needed("bot.audit.log", "bot.audit").DurableAuditLog
LifecycleService: Any = getattr(_lifecycle, "LifecycleService", None)


class Created(NamedTuple):
    event: Any
    nonce: str


def secret_created(record: Any) -> Created:
    """The `secret_created` event a share owes, with its nonce (bot.audit.secret_created)."""
    return Created(_notices.Events().created_event(record), _notices.created_nonce(record))
