"""Failures a test asks for: error answers and rate limiting, per method, N times."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    """One armed failure. `remaining` None means until cleared."""

    error: str
    status: int | None  # None: the surface's usual status (200 for Web API errors)
    retry_after: int | None  # set for rate limiting
    remaining: int | None


class Faults:
    """Armed failures by method name ("chat.postMessage", "response_url").

    Faults for one method are used in the order they were armed. Not thread-safe on
    its own: the stand-in calls it under its lock.
    """

    def __init__(self) -> None:
        self._by_method: dict[str, list[Fault]] = {}

    def arm(self, method: str, fault: Fault) -> None:
        """Queue a fault for `method`."""
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("times must be at least 1, or None for until cleared")
        self._by_method.setdefault(method, []).append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault that answers this call to `method`, if any, counting it as used."""
        queue = self._by_method.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.pop(0)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        self._by_method.clear()
