"""The durable audit log: stream first, then delivered to Slack once, in order."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.log import AuditOutbox, DurableAuditLog
from bot.domain import AuditAction, AuditEvent
from bot.errors import StorageUnavailable
from bot.storage import connect
from bot.storage.audit_stream import AuditStream
from devtools.harness.bot_process import BotProcess
from tests.conftest import AUDIT_CHANNEL, BOT_TOKEN, bot_env, bots_with

SEQ = re.compile(r"\(seq (\d+)\)")


def event(n: int, at: float | None = None) -> AuditEvent:
    return AuditEvent(AuditAction.SECRET_OPENED, at=at or time.time(), actor="U0BOB",
                      team_id="T0ACME", code="ABCD-EFGH-JKMN", detail=f"seq {n:04}")


def delivered(slack) -> list[int]:
    """Sequence numbers of the events the admin channel received, in order."""
    return [int(m) for c in slack.calls_to("chat.postMessage")
            if c.ok and c.params.get("channel") == AUDIT_CHANNEL
            for m in SEQ.findall(c.params["text"])]


async def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def start_one(outbox_factory, slack, *, until: int) -> None:
    """Start one outbox; back once the admin channel has received `until` events."""
    start, _ = outbox_factory
    start()
    await wait_until(lambda: len(delivered(slack)) >= until)


class FirstAppendFails:
    """An audit stream whose first append fails with StorageUnavailable: before the event
    is stored (Redis away), or after it (`stored`: the answer was lost)."""

    def __init__(self, real: AuditStream, *, stored: bool) -> None:
        self.real, self.stored, self.calls = real, stored, 0

    async def append(self, item, **kwargs):
        self.calls += 1
        if self.calls > 1:
            return await self.real.append(item, **kwargs)
        if self.stored:
            await self.real.append(item, **kwargs)
            raise StorageUnavailable("connection closed before the answer")
        raise StorageUnavailable("away")


def posted_text(slack) -> str:
    """Every audit message the admin channel received, one after another."""
    return "\n".join(c.params["text"] for c in slack.calls_to("chat.postMessage") if c.ok)


@pytest.fixture
async def stream(redis_url, redis_sync):
    client = connect(redis_url)
    yield AuditStream(client, prefix="ss", retention_seconds=365 * 86400)
    await client.aclose()


@pytest.fixture
async def outbox_factory(stream, slack):
    slack.reset()
    clients, stops, tasks = [], [], []

    def start(*, retry_handlers=None) -> None:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url,
                                retry_handlers=retry_handlers or [])
        outbox = AuditOutbox(stream, client, channel_id=AUDIT_CHANNEL,
                             logger=__import__("logging").getLogger("test"), post_interval=0.02)
        stop = asyncio.Event()
        clients.append(client)
        stops.append(stop)
        tasks.append(asyncio.create_task(outbox.run(stop)))

    async def stop(index: int) -> None:
        stops[index].set()
        await tasks[index]

    yield start, stop
    for s in stops:
        s.set()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_events_are_stored_before_any_delivery(stream):
    """record() writes to the stream; the event is there with an id, content-free fields."""
    log = DurableAuditLog(stream, logger=__import__("logging").getLogger("test"))
    await log.record(event(1))
    [stored] = await stream.after("0-0", count=10)
    assert stored.action is AuditAction.SECRET_OPENED
    assert stored.detail == "seq 0001"
    assert stored.event_id


async def test_failures_and_rate_limits_then_recovery_deliver_each_once_in_order(
        stream, slack, outbox_factory):
    """Slack fails (errors, then 429 with Retry-After) and recovers: all events arrive,
    once each, in order, grouped into fewer messages than events."""
    for n in range(30):
        await stream.append(event(n))
    slack.fail("chat.postMessage", error="internal_error", times=3)
    slack.rate_limit("chat.postMessage", retry_after=1, times=2)
    await start_one(outbox_factory, slack, until=30)
    for n in range(30, 40):  # more events after recovery
        await stream.append(event(n))
    await wait_until(lambda: len(delivered(slack)) >= 40)
    await asyncio.sleep(0.2)
    assert delivered(slack) == list(range(40))
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert len(posts) < 40
    refused = [c for c in slack.calls_to("chat.postMessage") if not c.ok]
    assert sum(c.status == 429 for c in refused) == 2
    assert await stream.delivered() == (await stream.latest(count=1))[0].event_id


async def test_restart_in_between_loses_nothing(stream, slack, outbox_factory):
    """An outbox stopped mid-stream leaves the rest for the next one, which resumes where
    the first stopped, without repeating anything."""
    start, stop = outbox_factory
    # Slack is down before the events exist: another outbox on this Redis (the session's
    # bot process, when one runs) must not post them in between either.
    slack.fail("chat.postMessage", error="service_unavailable", times=None)
    for n in range(10):
        await stream.append(event(n))
    start()
    await asyncio.sleep(0.3)
    await stop(0)  # "crash" while Slack is down: nothing delivered yet
    assert delivered(slack) == []
    slack.clear_faults()
    for n in range(10, 20):  # events while no process delivers
        await stream.append(event(n))
    start()
    await wait_until(lambda: len(delivered(slack)) >= 20)
    await asyncio.sleep(0.2)
    assert delivered(slack) == list(range(20))


async def test_two_outboxes_at_once_post_each_event_once(stream, slack, outbox_factory):
    """Two delivery loops on one Redis (as two replicas run): each event is posted once."""
    start, _ = outbox_factory
    start()
    start()
    for n in range(60):
        await stream.append(event(n))
        await asyncio.sleep(0.005)
    await wait_until(lambda: len(delivered(slack)) >= 60)
    await asyncio.sleep(0.3)
    assert delivered(slack) == list(range(60))


def test_two_bot_processes_deliver_each_event_once(slack, redis_url, redis_sync, tmp_path):
    """Two real bot processes sharing one Redis post every audit event exactly once."""
    slack.reset()
    workdirs = [tmp_path / str(i) for i in range(2)]
    for workdir in workdirs:
        workdir.mkdir()
    with bots_with(slack, redis_url, workdirs):
        async def append() -> None:
            client = connect(redis_url)
            stream = AuditStream(client, prefix="ss", retention_seconds=86400)
            for n in range(40):
                await stream.append(event(n))
            await client.aclose()
        asyncio.run(append())
        deadline = time.monotonic() + 20
        while len(delivered(slack)) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert delivered(slack) == list(range(40))


async def test_retention_trims_the_stream_by_time(redis_url, redis_sync):
    """Events older than AUDIT_RETENTION_DAYS are trimmed as new ones arrive."""
    client = connect(redis_url)
    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    old = time.time() - 3 * 86400
    redis_sync.xadd("ss:{audit}:events", {"event": "secret_opened", "at": str(old),
                                          "actor": "U1", "team": "T1"},
                    id=f"{int(old * 1000)}-0")
    for n in range(200):
        await stream.append(event(n))
    remaining = await stream.between(count=1000)
    assert all(e.at > time.time() - 86400 for e in remaining)
    assert len(remaining) == 200
    await client.aclose()


async def test_an_unreadable_entry_does_not_stop_the_log(stream, slack, outbox_factory,
                                                         redis_sync):
    """An entry this version cannot read (a newer replica's event, say) is posted as an
    unreadable line, and everything after it still arrives."""
    await stream.append(event(0))
    redis_sync.xadd("ss:{audit}:events", {"event": "secret_rotated", "at": "x",
                                          "actor": "U0OPS", "team": "T0ACME"})
    await stream.append(event(1))
    await start_one(outbox_factory, slack, until=2)
    text = posted_text(slack)
    assert "Unreadable audit entry" in text
    assert "secret_rotated" in text
    assert delivered(slack) == [0, 1]


async def test_retry_after_is_honoured(stream, slack, outbox_factory):
    """A 429 is retried no sooner than its Retry-After, and the event arrives once."""
    await stream.append(event(0))
    slack.rate_limit("chat.postMessage", retry_after=2, times=1)
    await start_one(outbox_factory, slack, until=1)
    refused, posted = slack.calls_to("chat.postMessage")[:2]
    assert refused.status == 429
    assert posted.at - refused.at >= 1.9
    await asyncio.sleep(0.2)
    assert delivered(slack) == [0]


def test_events_survive_a_kill_while_slack_is_slow(slack, redis_url, redis_sync, tmp_path):
    """Audit events are written to the stream as soon as Redis changes, before the (slow)
    Slack calls that follow: a bot killed mid-way loses none of them."""
    from devtools.harness.slack_client import SlackSim
    from tests.conftest import ALICE, BOB, SIGNING_SECRET, populate

    slack.reset()
    populate(slack)
    bot = BotProcess(bot_env(slack, redis_url), workdir=tmp_path).start()
    try:
        sim = SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)
        command = sim.slash_command(ALICE, "C0GENERAL")
        sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB], secret="k1ll")
        message, button = sim.reveal_prompt(BOB)
        slack.latency = 1.0  # each Slack call now takes a second
        sim.interaction(sim.block_action(BOB, message, button))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                b"secret_opened" in v for _, f in redis_sync.xrange("ss:{audit}:events")
                for v in f.values()):
            time.sleep(0.05)
        bot.kill()  # before the response_url post completes
    finally:
        slack.latency = 0.0
        bot.stop()
    names = [f[b"event"] for _, f in redis_sync.xrange("ss:{audit}:events")]
    assert b"secret_created" in names
    assert b"secret_opened" in names
    assert not [c for c in slack.calls_to("response_url") if c.ok]


async def test_a_long_burst_is_split_below_slacks_length_limit(stream, slack, outbox_factory):
    """Events with long lines are posted in several messages, each far below Slack's
    40,000-character cut, and none is lost."""
    many = tuple(f"U{i:010}" for i in range(30))
    for n in range(100):
        await stream.append(AuditEvent(AuditAction.SECRET_CREATED, at=time.time(),
                                       actor="U0ALICE", team_id="T0ACME",
                                       code="ABCD-EFGH-JKMN", recipients=many,
                                       detail=f"seq {n:04}"))
    await start_one(outbox_factory, slack, until=100)
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert len(posts) > 1
    assert max(len(c.params["text"]) for c in posts) <= 12_000
    assert delivered(slack) == list(range(100))


async def test_an_entry_with_an_impossible_time_does_not_stall(stream, slack, outbox_factory,
                                                              redis_sync):
    """A stored time that is not a time (nan, 1e30) is shown as unreadable; the log goes on."""
    redis_sync.xadd("ss:{audit}:events", {"event": "secret_opened", "at": "nan",
                                          "actor": "U1", "team": "T1"})
    redis_sync.xadd("ss:{audit}:events", {"event": "secret_opened", "at": "1e30",
                                          "actor": "U1", "team": "T1"})
    await stream.append(event(7))
    await start_one(outbox_factory, slack, until=1)
    text = posted_text(slack)
    assert text.count("Unreadable audit entry") == 2


async def test_recording_never_waits_long_and_retries_later(redis_url, redis_sync):
    """With Redis away, record() returns within half a second, and the event is stored
    once Redis answers again (here: a store that fails once)."""
    client = connect(redis_url)
    flaky = FirstAppendFails(AuditStream(client, prefix="ss", retention_seconds=86400),
                             stored=False)
    log = DurableAuditLog(flaky, logger=__import__("logging").getLogger("test"))
    started = time.monotonic()
    await log.record(event(1))
    assert time.monotonic() - started < 0.6
    await wait_until(lambda: redis_sync.xlen("ss:{audit}:events") == 1, timeout=5)
    await client.aclose()


async def test_a_retry_after_a_lost_answer_stores_the_event_once(redis_url, redis_sync):
    """Redis stored the event but its answer was lost (it shut down, say): the retry
    finds the entry by its nonce and stores nothing twice. Found by the soak test."""
    client = connect(redis_url)
    real = AuditStream(client, prefix="ss", retention_seconds=86400)
    answer_lost = FirstAppendFails(real, stored=True)
    log = DurableAuditLog(answer_lost, logger=__import__("logging").getLogger("test"))
    await log.record(event(1))
    await log.record(event(2))  # stored at once, no retry
    await wait_until(lambda: answer_lost.calls >= 3, timeout=5)
    await asyncio.sleep(0.2)
    assert redis_sync.xlen("ss:{audit}:events") == 2
    # Without the nonce check the retry would have stored event 1 again.
    again = await real.append(event(1), nonce="fresh", retry_since=time.time() - 60)
    assert redis_sync.xlen("ss:{audit}:events") == 3
    assert again == redis_sync.xrevrange("ss:{audit}:events", count=1)[0][0].decode()
    await client.aclose()


async def test_events_recorded_together_survive_a_lost_answer_once_each_in_order(
        redis_url, redis_sync):
    """A reveal's events go in one append: when its answer is lost (stored or not), each
    is retried, stored once and in order, and only then settled; a later event of the
    same secret waits behind them."""
    import dataclasses
    import logging

    from bot.storage import KeySpace
    from bot.storage.owed import OwedEvents

    client = connect(redis_url)
    real = AuditStream(client, prefix="ss", retention_seconds=86400)
    calls = {"together": 0}

    class AnswerLost:
        async def append_all(self, items):
            calls["together"] += 1
            await real.append_all(items[:1])  # the first landed, then the connection died
            raise StorageUnavailable("connection closed before the answer")

        async def append(self, item, **kwargs):
            return await real.append(item, **kwargs)

    secret = "ABCDEFGHJKMN" + "x" * 20
    owed_key = KeySpace("ss").owed(secret)
    redis_sync.hset(owed_key, mapping={"opened:1": "{}", "burned": "{}"})
    log = DurableAuditLog(AnswerLost(), logger=logging.getLogger("test"),
                          owed=OwedEvents(client, keys=KeySpace("ss")))
    opened, burned, later = (dataclasses.replace(event(n), secret_id=secret)
                             for n in (1, 2, 3))
    await log.record_all([(opened, "opened:1"), (burned, "burned")])
    await log.record(later)
    await wait_until(lambda: redis_sync.xlen("ss:{audit}:events") >= 3, timeout=5)
    await asyncio.sleep(0.3)
    entries = redis_sync.xrange("ss:{audit}:events")
    assert [f[b"detail"] for _, f in entries] == [b"seq 0001", b"seq 0002", b"seq 0003"]
    assert calls["together"] == 1
    assert redis_sync.exists(owed_key) == 0
    await client.aclose()
