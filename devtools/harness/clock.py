"""A clock for code that takes one (`clock=`): Unix time that moves only when a test says."""

from __future__ import annotations

import time


class FakeClock:
    """Unix time that only moves when told to (`now`, or `advance`)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = start if start is not None else time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
