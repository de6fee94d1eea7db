"""Post-ack work: bounded, in two lanes, with a deadline for trigger-bound work."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.background import LANE_CONCURRENCY, Background, Deadline, Lane
from bot.errors import Overloaded


async def test_lanes_bound_concurrency_and_do_not_block_each_other():
    """Each lane runs at most its share at once; a full follow-up lane does not delay
    interactive work."""
    background = Background(limit=1000, logger=logging.getLogger("test"))
    running = {Lane.INTERACTIVE: 0, Lane.FOLLOW_UP: 0}
    peak = dict(running)
    release = asyncio.Event()

    async def work(lane: Lane) -> None:
        running[lane] += 1
        peak[lane] = max(peak[lane], running[lane])
        await release.wait()
        running[lane] -= 1

    for _ in range(300):
        background.spawn(work(Lane.FOLLOW_UP), name="f", lane=Lane.FOLLOW_UP)
    started = asyncio.Event()

    async def urgent() -> None:
        started.set()

    background.spawn(urgent(), name="urgent")
    await asyncio.wait_for(started.wait(), 1)
    for _ in range(300):
        background.spawn(work(Lane.INTERACTIVE), name="i")
    await asyncio.sleep(0.05)
    assert peak == {lane: LANE_CONCURRENCY[lane] for lane in running}
    release.set()
    await background.drain(5)
    assert background.in_flight == 0


async def test_work_past_the_limit_is_refused_unless_committed():
    """Past MAX_IN_FLIGHT new work is refused at once (and not started), but committed
    follow-ups are always taken."""
    background = Background(limit=2, logger=logging.getLogger("test"))
    gate = asyncio.Event()

    async def wait() -> None:
        await gate.wait()

    background.spawn(wait(), name="a")
    background.spawn(wait(), name="b")
    refused = wait()
    with pytest.raises(Overloaded):
        background.spawn(refused, name="c")
    assert refused.cr_frame is None  # closed, never run
    background.spawn(wait(), name="d", lane=Lane.FOLLOW_UP, committed=True)
    assert background.in_flight == 3
    gate.set()
    await background.drain(5)


def test_deadline_expires_after_the_trigger_budget():
    """A request older than the budget is too late to open a view for."""
    assert not Deadline().expired()
    assert Deadline(received=time.monotonic() - 2.5).expired()
    assert not Deadline(received=time.monotonic() - 2.5).expired(budget=3.0)


async def test_admit_waits_for_a_slot_then_refuses():
    """Trigger-bound work is admitted when an interactive slot frees up within the wait,
    and refused (closed, unstarted) when none does."""
    background = Background(limit=1000, logger=logging.getLogger("test"))
    gate = asyncio.Event()

    async def hold() -> None:
        await gate.wait()

    for _ in range(LANE_CONCURRENCY[Lane.INTERACTIVE]):
        assert await background.admit(hold(), name="hold", wait=0.1)
    late = hold()
    assert not await background.admit(late, name="late", wait=0.05)
    assert late.cr_frame is None
    asyncio.get_running_loop().call_later(0.05, gate.set)
    assert await background.admit(hold(), name="after", wait=1.0)
    await background.drain(5)


async def test_drain_waits_for_work_started_while_draining():
    """Work queued by draining work (a reveal queues its message update) is drained too,
    and what outlives the timeout is cancelled."""
    background = Background(limit=1000, logger=logging.getLogger("test"))
    done: list[str] = []

    async def follow_up() -> None:
        await asyncio.sleep(0.1)
        done.append("follow-up")

    async def first() -> None:
        await asyncio.sleep(0.05)
        background.spawn(follow_up(), name="follow-up", lane=Lane.FOLLOW_UP, committed=True)
        done.append("first")

    background.spawn(first(), name="first")
    await background.drain(5)
    assert done == ["first", "follow-up"]
    assert background.in_flight == 0

    background.spawn(asyncio.sleep(10), name="stuck")
    started = time.monotonic()
    await background.drain(0.2)
    assert time.monotonic() - started < 1
    assert background.in_flight == 0


async def test_a_free_slot_is_taken_without_letting_queued_work_run_first():
    """Admitting work while a slot is free does not yield to the event loop: the listener
    answers Slack before any work already queued (other reveals' steps) runs."""
    background = Background(limit=1000, logger=logging.getLogger("test"))
    ran: list[str] = []

    async def queued() -> None:
        ran.append("queued")

    async def work() -> None:
        ran.append("admitted")

    other = asyncio.get_running_loop().create_task(queued())
    assert await background.admit(work(), name="w")
    ran.append("answered")
    await other
    await asyncio.sleep(0)
    assert ran[:2] == ["answered", "queued"]


async def test_optional_work_is_skipped_past_the_limit_and_committed_work_is_not(caplog):
    """`maybe_later` (a Home refresh) gives way when the bot is full; `later` (telling
    people about something done) runs all the same."""
    background = Background(limit=1, logger=logging.getLogger("test"))
    release = asyncio.Event()
    ran: list[str] = []

    async def work(name: str) -> None:
        ran.append(name)
        await release.wait()

    background.later(work("first"), name="first")
    with caplog.at_level(logging.INFO, logger="test"):
        background.maybe_later(work("optional"), name="optional")
    background.later(work("committed"), name="committed")
    await asyncio.sleep(0.01)
    release.set()
    await background.drain(1)
    assert ran == ["first", "committed"]
    assert "skipped optional: too much work in flight" in caplog.text


async def test_now_or_runs_the_alternative_when_no_slot_frees_up(monkeypatch):
    """Trigger-bound work with no room in time is never started; the person is told
    instead (the alternative runs as follow-up work)."""
    monkeypatch.setitem(LANE_CONCURRENCY, Lane.INTERACTIVE, 1)
    background = Background(limit=100, logger=logging.getLogger("test"))
    release = asyncio.Event()
    told = asyncio.Event()
    started: list[str] = []

    async def hold() -> None:
        await release.wait()

    async def work() -> None:
        started.append("work")

    async def tell() -> None:
        told.set()

    assert await background.admit(hold(), name="hold")
    await background.now_or(work(), name="work", otherwise=tell)
    await asyncio.wait_for(told.wait(), 1)
    release.set()
    await background.drain(1)
    assert started == []
