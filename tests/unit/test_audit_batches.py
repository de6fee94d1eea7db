"""The audit outbox's pending batch in Redis: begin under the lease, finish by
compare-and-set, drop only the batch named (bot.storage.audit_batches)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from bot.storage import connect
from bot.storage.audit_batches import PendingBatch
from bot.storage.audit_stream import AuditStream

LEASE, CURSOR, PENDING = "ss:{audit}:lease", "ss:{audit}:delivered", "ss:{audit}:pending"


@pytest.fixture
async def stream(redis_url, redis_sync):
    client = connect(redis_url)
    yield AuditStream(client, prefix="ss", retention_seconds=86400)
    await client.aclose()


def batch(batch_id: str = "b1", after: str = "0-0", last: str = "5-0") -> PendingBatch:
    now = time.time()
    return PendingBatch(batch=batch_id, after=after, first="1-0", last=last,
                        channel="C0AUDIT", team="T0ACME", at=now, tried=now)


async def test_begin_needs_the_lease_with_time_left(stream, redis_sync):
    """Only the lease holder with enough lease left can mark a batch pending."""
    batches = stream.batches
    assert not await batches.begin("me", batch(), lease_ms=10_000)  # nobody holds it
    redis_sync.set(LEASE, "other", px=30_000)
    assert not await batches.begin("me", batch(), lease_ms=10_000)  # someone else does
    redis_sync.set(LEASE, "me", px=5_000)
    assert not await batches.begin("me", batch(), lease_ms=10_000)  # too little left
    assert redis_sync.exists(PENDING) == 0
    redis_sync.set(LEASE, "me", px=30_000)
    assert await batches.begin("me", batch(), lease_ms=10_000)
    found = await batches.current()
    assert (found.batch, found.after, found.first, found.last, found.channel, found.team) \
        == ("b1", "0-0", "1-0", "5-0", "C0AUDIT", "T0ACME")
    assert found.unverified is False


async def test_begin_refuses_a_moved_cursor_and_another_pending_batch(stream, redis_sync):
    """A batch read after an old cursor, or while another batch is pending, is refused;
    the same batch again (a retry) only records the new try."""
    batches = stream.batches
    redis_sync.set(LEASE, "me", px=30_000)
    redis_sync.set(CURSOR, "3-0")
    assert not await batches.begin("me", batch(after="0-0"), lease_ms=10_000)
    assert await batches.begin("me", batch(after="3-0"), lease_ms=10_000)
    assert not await batches.begin("me", batch("b2", after="3-0"), lease_ms=10_000)
    retry = dataclasses.replace(batch(after="3-0"), tried=time.time() + 5, unverified=True)
    assert await batches.begin("me", retry, lease_ms=10_000)
    found = await batches.current()
    assert found.batch == "b1"
    assert found.unverified
    assert found.tried == pytest.approx(
        retry.tried, abs=1e-3)


async def test_finish_moves_the_cursor_and_forgets_the_batch_in_one_step(stream, redis_sync):
    """finish is compare-and-set on the cursor and the pending batch: it moves the cursor
    once, and never for another batch."""
    batches = stream.batches
    redis_sync.set(LEASE, "me", px=30_000)
    pending = batch()
    assert await batches.begin("me", pending, lease_ms=10_000)
    assert not await batches.finish(dataclasses.replace(pending, batch="b2"))
    assert redis_sync.get(CURSOR) is None
    assert await batches.finish(pending)
    assert redis_sync.get(CURSOR) == b"5-0"
    assert redis_sync.exists(PENDING) == 0
    assert not await batches.finish(pending)  # twice: the cursor has moved
    assert redis_sync.get(CURSOR) == b"5-0"


async def test_drop_forgets_only_the_batch_named(stream, redis_sync):
    """drop removes the pending batch only if it is the one named."""
    batches = stream.batches
    redis_sync.set(LEASE, "me", px=30_000)
    assert await batches.begin("me", batch(), lease_ms=10_000)
    assert not await batches.drop("b2")
    assert (await batches.current()).batch == "b1"
    assert await batches.drop("b1")
    assert await batches.current() is None
