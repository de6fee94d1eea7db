"""Refusals past a person's limit are counted, then summed up in one event (real Redis)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.audit.log import DurableAuditLog
from bot.audit.refusals import SUMMARY_DELAY_SECONDS, RefusalThrottle
from bot.domain import AuditAction, AuditEvent
from bot.errors import StorageUnavailable
from bot.secrets.limits import Rate
from bot.storage import KeySpace, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.refusals import RedisRefusalCounter


def refusal(actor: str = "U0EVE") -> AuditEvent:
    return AuditEvent(AuditAction.ACCESS_DENIED, at=time.time(), actor=actor,
                      team_id="T0ACME", detail="admin command by a non-admin")


@pytest.fixture
async def client(redis_url, redis_sync):
    client = connect(redis_url)
    yield client
    await client.aclose()


def stored(redis_sync) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in redis_sync.xrange("ss:{audit}:events")]


async def test_refusals_past_the_limit_are_summed_up_once_the_window_is_over(client,
                                                                             redis_sync):
    """Two per person per 2 s are stored one by one; the other three become one event
    after the window; another person's refusals are counted apart."""
    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    throttle = RefusalThrottle(RedisRefusalCounter(client, keys=KeySpace("ss")),
                               rate=Rate(2, 2))
    audit = DurableAuditLog(stream, logger=logging.getLogger("test"), refusals=throttle)
    while time.time() % 2 > 1.5:  # all five within one window
        await asyncio.sleep(0.05)
    for _ in range(5):
        await audit.record(refusal())
    await audit.record(refusal("U0MALLORY"))
    assert [f[b"actor"] for f in stored(redis_sync)] == [b"U0EVE", b"U0EVE", b"U0MALLORY"]

    await asyncio.sleep(2 + SUMMARY_DELAY_SECONDS + 0.5)
    summaries = [f for f in stored(redis_sync) if f[b"event"] == b"refusals_merged"]
    assert len(summaries) == 1
    assert summaries[0][b"actor"] == b"U0EVE"
    assert summaries[0][b"detail"].startswith(b"3 more refusals in the last 2 seconds")


async def test_a_refusal_that_cannot_be_counted_is_audited(client, redis_sync):
    """When Redis cannot count a refusal, it is audited by itself: none is lost unseen."""
    class Down:
        async def count(self, **_: object) -> int:
            raise StorageUnavailable("redis is away")

        async def total(self, **_: object) -> int:
            raise StorageUnavailable("redis is away")

    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    audit = DurableAuditLog(stream, logger=logging.getLogger("test"),
                            refusals=RefusalThrottle(Down(), rate=Rate(1, 60)))
    for _ in range(3):
        await audit.record(refusal())
    assert len(stored(redis_sync)) == 3


async def test_a_summary_whose_process_stopped_is_recorded_by_a_sweep_once(client, redis_sync):
    """The process that merged refusals stops before their window ends: the summary it
    owed is noted in Redis with the count, and another process's sweep records it, once,
    however many sweeps run."""
    def make_log() -> DurableAuditLog:
        throttle = RefusalThrottle(RedisRefusalCounter(client, keys=KeySpace("ss")),
                                   rate=Rate(2, 60))
        return DurableAuditLog(AuditStream(client, prefix="ss", retention_seconds=86400),
                               logger=logging.getLogger("test"), refusals=throttle)

    stopped = make_log()
    long_ago = time.time() - 600  # a window long over: its summary is overdue
    for _ in range(6):
        await stopped.record(AuditEvent(AuditAction.ACCESS_DENIED, at=long_ago,
                                        actor="U0EVE", team_id="T0ACME", detail="denied"))
    for task in list(stopped._retries):  # the process stops: its timer never fires
        task.cancel()
    await asyncio.sleep(0)
    assert [f[b"event"] for f in stored(redis_sync)] == [b"access_denied"] * 2

    sweeper = make_log()
    assert await sweeper.record_owed_summaries() == 1
    assert await make_log().record_owed_summaries() == 0  # recorded: owed no more
    summaries = [f for f in stored(redis_sync) if f[b"event"] == b"refusals_merged"]
    assert len(summaries) == 1
    assert summaries[0][b"detail"].startswith(b"4 more refusals in the last 60 seconds")
    assert redis_sync.zcard(KeySpace("ss").refusals_due()) == 0


async def test_a_summary_recorded_twice_is_stored_once(client, redis_sync):
    """Its own process and a sweep both record a window's summary (the process was only
    slow): one event, by the window's nonce."""
    throttle = RefusalThrottle(RedisRefusalCounter(client, keys=KeySpace("ss")),
                               rate=Rate(1, 60))
    logs = [DurableAuditLog(AuditStream(client, prefix="ss", retention_seconds=86400),
                            logger=logging.getLogger("test"), refusals=throttle)
            for _ in range(2)]
    long_ago = time.time() - 600
    for _ in range(3):
        await logs[0].record(AuditEvent(AuditAction.ACCESS_DENIED, at=long_ago,
                                        actor="U0EVE", team_id="T0ACME", detail="denied"))
    window = throttle.window(AuditEvent(AuditAction.ACCESS_DENIED, at=long_ago,
                                        actor="U0EVE", team_id="T0ACME"))
    found = await throttle.summary_of("T0ACME", "U0EVE", window)
    assert found is not None
    await asyncio.gather(*(log._store_summary(throttle, "T0ACME", "U0EVE", window)
                           for log in logs))
    await asyncio.gather(*logs[0]._retries, return_exceptions=True)
    summaries = [f for f in stored(redis_sync) if f[b"event"] == b"refusals_merged"]
    assert len(summaries) == 1


async def test_events_stored_before_the_indexes_are_found_after_reindex(client, redis_sync,
                                                                        redis_url, tmp_path):
    """Events of an earlier release are in the stream but in no lookup index: `admin
    audit` would not find them until `python -m bot audit reindex` has run (once)."""
    from tests.unit.test_key_rotation import K1, cli

    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    for n in range(3):
        await stream.append(AuditEvent(AuditAction.SECRET_CREATED, at=time.time(),
                                       actor=f"U0SENDER{n}", team_id="T0ACME",
                                       code=f"ABCD-EFGH-JKM{n}"))
    for key in redis_sync.scan_iter("ss:{audit}:*"):  # as an earlier release left them
        if any(part in key for part in (b":team:", b":actor:", b":code:")):
            redis_sync.delete(key)
    assert await stream.find("T0ACME", code="ABCD-EFGH-JKM1", count=10) == []

    done = await asyncio.to_thread(cli, ["audit", "reindex"], redis_url, tmp_path, [K1])
    assert done.returncode == 0, done.stderr
    assert "Indexed 3 audit events" in done.stdout
    [found] = await stream.find("T0ACME", code="ABCD-EFGH-JKM1", count=10)
    assert found.actor == "U0SENDER1"
    assert len(await stream.find("T0ACME", count=10)) == 3
    assert len(await stream.find("T0ACME", actor="U0SENDER2", count=10)) == 1
