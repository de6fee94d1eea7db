"""Refusals past a person's limit are counted, then summed up in one event (real Redis)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.audit import DurableAuditLog
from bot.audit_refusals import SUMMARY_DELAY_SECONDS, RefusalThrottle
from bot.domain import AuditAction, AuditEvent
from bot.errors import StorageUnavailable
from bot.limits import Rate
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
