"""Work that happens after Slack has been answered.

Slack wants an answer within 3 seconds, while the calls a share or a reveal makes to
Slack take 50-300 ms each. Listeners therefore acknowledge at once and hand the slow
part to `Background`, which runs it as an asyncio task on the server's event loop.

Work runs in two lanes with their own concurrency: INTERACTIVE work holds a trigger_id
(which dies 3 s after the click) and must not wait behind FOLLOW_UP work (receipts,
message updates, deliveries), which can. Interactive work also checks its deadline
when it gets a slot (`Deadline`), and past it tells the person to retry instead of
acting on a dead trigger. The number of tasks in flight is bounded: past the bound new
work is refused at once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.errors import Overloaded


class Lane(enum.Enum):
    INTERACTIVE = "interactive"
    FOLLOW_UP = "follow_up"
    REQUESTS = "requests"


# Interactive work mostly waits on Slack (views.open, 50-300 ms): enough slots to keep the
# connection pool busy; follow-ups may lag behind it. Requests for secrets (DMs one person
# asks the bot to send to others) get a few slots of their own: a flood of them is turned
# away at the door and never takes the slots that shares and reveals need.
LANE_CONCURRENCY = {Lane.INTERACTIVE: 128, Lane.FOLLOW_UP: 128, Lane.REQUESTS: 4}
ADMIT_WAIT_SECONDS = 0.5
# A trigger_id lives 3 s; work that starts later than this after the click is too late
# to be sure its views.open lands in time.
TRIGGER_BUDGET_SECONDS = 2.0


@dataclass(frozen=True)
class Deadline:
    """When a request arrived (monotonic seconds), to tell whether its trigger is fresh."""

    received: float = field(default_factory=time.monotonic)

    def expired(self, budget: float = TRIGGER_BUDGET_SECONDS) -> bool:
        return self.elapsed() > budget

    def elapsed(self) -> float:
        return time.monotonic() - self.received


class Background:
    """A bounded set of fire-and-forget tasks that are logged, kept and drained."""

    def __init__(self, *, limit: int, logger: logging.Logger) -> None:
        self._limit = limit
        self._logger = logger
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = {lane: asyncio.Semaphore(n) for lane, n in LANE_CONCURRENCY.items()}

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str,
              lane: Lane | None = Lane.INTERACTIVE, committed: bool = False) -> None:
        """Queue `work` in its lane; past the limit raise Overloaded and close it unstarted.

        `committed` work is taken regardless: it finishes something the user was
        already told has happened (a stored secret must be delivered). Work in no lane
        (`lane=None`) mostly waits (for Redis to come back) and takes no lane's slot.
        """
        if not committed and len(self._tasks) >= self._limit:
            work.close()
            raise Overloaded(f"{len(self._tasks)} tasks in flight")
        task = asyncio.get_running_loop().create_task(self._in_lane(work, lane), name=name)
        self._tasks.add(task)  # a strong reference, or the loop may collect the task
        task.add_done_callback(self._finished)

    def later(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run follow-up work after the answer to Slack (it always runs: it finishes
        something already done, like telling people about a revoke)."""
        self.spawn(work, name=name, lane=Lane.FOLLOW_UP, committed=True)

    def maybe_later(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Optional follow-up work (a Home refresh): skipped when the limit is reached."""
        try:
            self.spawn(work, name=name, lane=Lane.FOLLOW_UP)
        except Overloaded:
            self._logger.info("skipped %s: too much work in flight", name)

    async def now_or(self, work: Coroutine[Any, Any, None], *, name: str,
                     otherwise: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start trigger-bound work (it opens a view) before the listener answers, once
        there is room for it; when the bot stays too busy, run `otherwise` (telling the
        person privately to try again) as follow-up work instead."""
        if not await self.admit(work, name=name):
            self.later(otherwise(), name="busy")

    async def admit(self, work: Coroutine[Any, Any, None], *, name: str,
                    wait: float = ADMIT_WAIT_SECONDS) -> bool:
        """Start trigger-bound `work` once an interactive slot is free, waiting at most
        `wait` seconds; False (and `work` closed, unstarted) when none freed up.

        Called before the listener answers Slack: while the bot is saturated its answers
        slow down a little (back-pressure) instead of piling up work whose triggers will
        die; past the wait the person is told it is busy.
        """
        slot = await self.reserve(Lane.INTERACTIVE, wait=wait)
        if slot is None:
            work.close()
            return False
        slot.start(work, name=name)
        return True

    async def reserve(self, lane: Lane, *, wait: float = ADMIT_WAIT_SECONDS) -> Slot | None:
        """A place in `lane` for work to start later (after, say, a secret is stored),
        waiting at most `wait` seconds; None when none freed up."""
        slots = self._slots[lane]
        if not slots.locked():
            # A free slot is taken at once: acquire() then returns without yielding to the
            # loop, where wait_for would wrap it in a task and let queued work run first,
            # delaying the answer this slot is taken for.
            await slots.acquire()
            return Slot(self, slots)
        try:
            await asyncio.wait_for(slots.acquire(), timeout=wait)
        except TimeoutError:
            return None
        return Slot(self, slots)

    def _start_holding(self, work: Coroutine[Any, Any, None], slots: asyncio.Semaphore,
                       name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._holding(work, slots), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _holding(self, work: Coroutine[Any, Any, None],
                       slots: asyncio.Semaphore) -> None:
        try:
            await work
        finally:
            slots.release()

    async def _in_lane(self, work: Coroutine[Any, Any, None], lane: Lane | None) -> None:
        if lane is None:
            await work
            return
        async with self._slots[lane]:
            await work

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # The type and the frames, not the message: exception texts may quote payloads.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            self._logger.error("background task %s failed: %s\n%s", task.get_name(),
                               type(exc).__name__, frames.rstrip())

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for in-flight work, including work it starts
        meanwhile (a reveal queues its message update), then cancel what is left."""
        deadline = asyncio.get_running_loop().time() + timeout
        pending: set[asyncio.Task[None]] = set()
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                pending = set(self._tasks)
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        for task in pending:
            task.cancel()
        if pending:
            self._logger.warning("%d background tasks cancelled at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)


class Slot:
    """A reserved place in a lane: `start` work in it, or `release` it unused."""

    def __init__(self, background: Background, slots: asyncio.Semaphore) -> None:
        self._background = background
        self._slots = slots
        self._used = False

    def start(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        assert not self._used
        self._used = True
        self._background._start_holding(work, self._slots, name)

    def release(self) -> None:
        if not self._used:
            self._used = True
            self._slots.release()
