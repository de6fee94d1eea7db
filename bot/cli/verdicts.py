"""What a doctor check found (bot.cli.doctor and its checks of external sharing)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

TIMEOUT_SECONDS = 10  # every network check gives up after this


class Status(enum.Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Verdict:
    check: str
    status: Status
    detail: str
    fix: str | None = None
