"""bot.secrets.followups: follow-ups gathered into few round trips, and `caught_up`, which
lets an event recorded at once (a refusal) or a Reveal message wait for those queued
before it, and for no later ones."""

from __future__ import annotations

import asyncio
import logging

from bot.domain import AuditAction, AuditEvent
from bot.secrets import followups
from bot.secrets.followups import Followup, Followups, InOrder


class SlowLog:
    """Records each batch it is given, taking `seconds` per batch (a round trip)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.batches: list[list[str]] = []

    async def record_all(self, events, *, contexts=None):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.seconds)
        self.batches.append([event.secret_id for event, _ in events])
        self.contexts = list(contexts or [])


class Views:
    def __init__(self) -> None:
        self.burned: list[str] = []

    async def burned_many(self, ended, *, now):  # type: ignore[no-untyped-def]
        self.burned += [secret_id for secret_id, _, _ in ended]


def item(name: str, *, burned: bool = False) -> Followup:
    event = AuditEvent(AuditAction.SECRET_OPENED, at=0.0, actor="U0BOB", team_id="T1",
                       code="CODE", secret_id=name)
    return Followup(events=((event, f"opened:{name}"),),
                    burned=(name, "T1", "U0ALICE") if burned else None)


def make(log: SlowLog, views: Views) -> Followups:
    burn = type("Burn", (), {"burned": lambda self, ended, now: views.burned_many(
        ended, now=now)})()
    return Followups(audit=log, views=burn, later=lambda work: None,
                     logger=logging.getLogger("test"))


async def test_a_burst_is_gathered_into_one_batch():
    log, views = SlowLog(0.0), Views()
    queue = make(log, views)
    for n in range(5):
        queue.add(item(f"s{n}", burned=n == 4))
    await queue.drained()
    assert log.batches == [["s0", "s1", "s2", "s3", "s4"]]
    assert views.burned == ["s4"]


async def test_caught_up_waits_for_what_was_queued_before_and_no_more():
    """While batches keep coming, a caller waits for the batch holding what was queued
    when it asked, not for the queue to empty (under load it never does)."""
    log = SlowLog(0.05)
    queue = make(log, Views())
    queue.add(item("first"))
    await asyncio.sleep(followups.GATHER_SECONDS + 0.01)  # its batch is under way
    queue.add(item("second"))
    waiter = asyncio.ensure_future(queue.caught_up())
    await asyncio.sleep(0.07)  # "first" done, "second" under way
    queue.add(item("third"))  # queued after the caller asked
    await waiter
    assert log.batches == [["first"], ["second"]]
    await queue.caught_up()
    assert log.batches == [["first"], ["second"], ["third"]]
    await queue.caught_up()  # nothing queued: at once


async def test_caught_up_gives_up_after_its_bound(monkeypatch):
    """A stalled store does not hold a refusal's answer past CATCH_UP_SECONDS."""
    monkeypatch.setattr(followups, "CATCH_UP_SECONDS", 0.1)
    log = SlowLog(5.0)
    queue = make(log, Views())
    queue.add(item("stuck"))
    started = asyncio.get_running_loop().time()
    await queue.caught_up()
    assert asyncio.get_running_loop().time() - started < 1.0
    assert log.batches == []
    queue._worker.cancel()  # type: ignore[union-attr]


async def test_an_event_recorded_at_once_comes_after_those_queued_before_it():
    """The listeners' audit log (InOrder): a revoke recorded at once, right after a share
    whose secret_created is queued, is stored after it."""
    log = SlowLog(0.02)
    queue = make(log, Views())
    ordered = InOrder(log, queue)  # type: ignore[arg-type]
    queue.add(item("created"))
    revoked = AuditEvent(AuditAction.SECRET_REVOKED, at=0.0, actor="U0ALICE", team_id="T1",
                         code="CODE", secret_id="revoked")
    await ordered.record_all([(revoked, None)])
    assert log.batches == [["created"], ["revoked"]]


async def test_nothing_to_record_waits_for_nothing(monkeypatch):
    """A refusal that owes no event (a passphrase asked for, a double click) does not
    wait for a stalled queue before its modal opens."""
    log = SlowLog(5.0)
    queue = make(log, Views())
    queue.add(item("stuck"))
    started = asyncio.get_running_loop().time()
    await InOrder(log, queue).record_all([])  # type: ignore[arg-type]
    assert asyncio.get_running_loop().time() - started < 0.05
    queue._worker.cancel()  # type: ignore[union-attr]


async def test_what_a_cancelled_worker_left_is_waited_for_under_the_next():
    """A worker cancelled with items still queued leaves them to the next one, and a
    caller waiting for them waits for that one (not a count that says they are done)."""
    log = SlowLog(0.05)
    queue = make(log, Views())
    queue.add(item("first"))
    await asyncio.sleep(followups.GATHER_SECONDS + 0.01)  # "first" under way
    queue.add(item("second"))
    worker = queue._worker
    assert worker is not None
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    waiter = asyncio.ensure_future(queue.caught_up())  # for "second"
    await asyncio.sleep(0)
    queue.add(item("third"))  # a new worker: "second" and "third"
    await waiter
    assert log.batches == [["second", "third"]]


async def test_each_event_is_logged_under_the_request_it_follows():
    """A batch gathers many requests' events: each keeps its own request's context (its
    log line carries that request id, not the id of whichever request started the batch)."""
    from bot.telemetry import context

    log = SlowLog(0.0)
    queue = make(log, Views())
    for n in range(3):
        with context.scope(request_id=f"req{n}"):
            queue.add(item(f"s{n}"))
    await queue.drained()
    assert log.batches == [["s0", "s1", "s2"]]
    assert [fields.get("request_id") for fields in log.contexts] == ["req0", "req1", "req2"]
