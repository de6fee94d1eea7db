"""The choices a sender makes: expiry, view limit, format. Pure values and parsing."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

MIN_EXPIRY_SECONDS = 5 * 60
MAX_EXPIRY_SECONDS = 30 * 86400
MAX_TOTAL_VIEWS = 1000


class Expiry(enum.Enum):
    """The preset lifetimes, in seconds."""

    ONE_HOUR = 3600
    ONE_DAY = 86400
    SEVEN_DAYS = 7 * 86400
    THIRTY_DAYS = 30 * 86400

    @property
    def label(self) -> str:
        return duration_label(self.value)

    @classmethod
    def default(cls) -> Expiry:
        return cls.ONE_DAY

    @classmethod
    def parse(cls, seconds: str | None) -> Expiry | None:
        """The preset whose lifetime is `seconds` (as a string), or None."""
        for member in cls:
            if seconds == str(member.value):
                return member
        return None


_DURATION = re.compile(r"^\s*(\d{1,6})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)\s*$",
                       re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int | None:
    """Seconds in a duration a person typed ("45m", "12 hours", "3d"), or None."""
    match = _DURATION.match(text)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]


def duration_label(seconds: float) -> str:
    """A duration as people say it: "24 hours", "7 days", "90 minutes"."""
    seconds = round(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            if unit == "day" and count == 1:
                return "24 hours"
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


class ViewMode(enum.Enum):
    """How many views a secret allows."""

    EACH_ONCE = "each"  # every recipient may view it once (the default)
    TOTAL = "total"  # a number of views shared by all recipients
    UNLIMITED = "unlimited"  # any number of views until it expires


@dataclass(frozen=True)
class ViewLimit:
    """A view mode and, for TOTAL, the number of views."""

    mode: ViewMode = ViewMode.EACH_ONCE
    total: int | None = None

    def allowed(self, recipients: int) -> int | None:
        """How many views in all (None: unlimited)."""
        if self.mode is ViewMode.EACH_ONCE:
            return recipients
        if self.mode is ViewMode.TOTAL:
            return self.total
        return None

    def describe(self, recipients: int) -> str:
        if self.mode is ViewMode.EACH_ONCE:
            return "each recipient can view it once" if recipients > 1 else \
                "it can be viewed once"
        if self.mode is ViewMode.TOTAL:
            total = self.total or 0
            return f"{total} view{'s' if total != 1 else ''} in all"
        return "any number of views until it expires"


class Format(enum.Enum):
    """How a secret's text is checked on submit and shown on reveal."""

    TEXT = "text"
    JSON = "json"
    YAML = "yaml"
    ENV = "env"

    @property
    def label(self) -> str:
        return {"text": "Text", "json": "JSON", "yaml": "YAML", "env": "Env (.env)"}[self.value]
