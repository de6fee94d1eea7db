"""Storing a secret on one server in one step (STORE_HERE), against a real Redis: the same
keys and values the Cluster's three steps write, one round trip, and nothing written for
a taken code, a withdrawn share or a full quota."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from bot.errors import CodeTaken, QuotaExceeded
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, RedisSecretStore
from bot.storage.keys import handle
from bot.storage.quota import Caps, RedisQuota
from tests.unit.test_reveal_round_trips import CountingConnection
from tests.unit.test_sharing import People, form

KEYS = KeySpace("ss")


@pytest.fixture
async def client(redis_url, redis_sync):
    """A client on the flushed test database whose round trips are counted."""
    connection = Redis.from_url(redis_url, connection_class=CountingConnection)
    yield connection
    await connection.aclose()


def quota_store(client, keyring, caps: Caps = Caps()) -> RedisSecretStore:
    return RedisSecretStore(client, keys=KEYS, keyring=keyring, metadata_retention_seconds=3600,
                            quota=RedisQuota(client, keys=KEYS, caps=caps))


def snapshot(redis_sync) -> dict[bytes, object]:
    """Every key: its value (the owed events without the Redis clock they carry) and its
    TTL to the minute."""
    out: dict[bytes, object] = {}
    for key in redis_sync.scan_iter():
        kind = redis_sync.type(key)
        if kind == b"zset":
            value: object = redis_sync.zrange(key, 0, -1, withscores=True)
        elif kind == b"hash":
            value = {field: _without_clock(entry)
                     for field, entry in redis_sync.hgetall(key).items()}
        else:
            value = redis_sync.get(key)
        out[key] = (value, round(redis_sync.pttl(key) / 60_000))
    return out


def _without_clock(entry: bytes) -> object:
    """An owed event (JSON) without the Redis clock it was noted at ("o"); any other
    field's value as it is."""
    if not entry.startswith(b'{"a":'):
        return entry
    return {k: v for k, v in json.loads(entry).items() if k != "o"}


async def test_one_server_stores_what_the_clusters_three_steps_store(client, keyring,
                                                                   redis_sync):
    """The one-step store leaves Redis exactly as the quota's reservation, the index
    pipeline and CREATE do, taken one after the other (as a Cluster takes them)."""
    store = quota_store(client, keyring)
    record = await SharingService(store=store, keyring=keyring).share(
        form(recipients=("UBOB", "UCAROL")), people=People())
    name = handle(record.secret_id)
    ciphertext = redis_sync.get(KEYS.ciphertext(name))
    redis_sync.flushdb()
    await store.create(record, ciphertext, now=record.created_at)
    one_step = snapshot(redis_sync)
    assert {KEYS.meta(name).encode(), KEYS.expiries().encode(),
            KEYS.quota_held(f"T1:{record.sender_id}").encode()} <= set(one_step)

    redis_sync.flushdb()
    writes = quota_store(client, keyring)._writes
    writes._in_order = False  # a Cluster's steps, which one server can take too
    await writes.create(record, ciphertext, now=record.created_at)
    assert snapshot(redis_sync) == one_step


async def test_a_share_is_stored_in_one_round_trip(client, keyring):
    """Its quota room, its five index entries and the secret: one round trip, not a
    script check (SCRIPT EXISTS) or a reservation first. It took two before."""
    store = quota_store(client, keyring)
    service = SharingService(store=store, keyring=keyring)
    await service.share(form(), people=People())  # scripts loaded, connection made
    for _ in range(3):
        before = CountingConnection.sent
        await service.share(form(), people=People())
        assert CountingConnection.sent - before == 1


async def test_a_taken_code_reserves_and_indexes_nothing(client, keyring, redis_sync):
    store = quota_store(client, keyring)
    record = await SharingService(store=store, keyring=keyring).share(form(),
                                                                      people=People())
    before = snapshot(redis_sync)
    with pytest.raises(CodeTaken):
        await store.create(record, b"another ciphertext", now=record.created_at + 5)
    assert snapshot(redis_sync) == before


async def test_a_withdrawn_share_that_lands_late_stores_and_reserves_nothing(client, keyring,
                                                                             redis_sync):
    """The bot gave up on a write (Redis froze) and withdrew the share; the write, run
    when Redis runs again, finds the withdrawal's mark and writes nothing."""
    store = quota_store(client, keyring)
    record = await SharingService(store=store, keyring=keyring).share(form(),
                                                                      people=People())
    name = handle(record.secret_id)
    ciphertext = redis_sync.get(KEYS.ciphertext(name))
    assert await store.withdraw(record)
    after_withdrawal = snapshot(redis_sync)
    assert KEYS.withdrawn(name).encode() in after_withdrawal
    with pytest.raises(CodeTaken):
        await store.create(record, ciphertext, now=record.created_at)
    assert snapshot(redis_sync) == after_withdrawal


async def test_a_full_quota_refuses_a_share_and_writes_nothing_of_it(client, keyring,
                                                                     redis_sync):
    store = quota_store(client, keyring, Caps(sender_secrets=1))
    service = SharingService(store=store, keyring=keyring)
    await service.share(form(), people=People())
    before = snapshot(redis_sync)
    with pytest.raises(QuotaExceeded) as refused:
        await service.share(form(), people=People())
    assert (refused.value.scope, refused.value.limit, refused.value.cap) == \
        ("sender", "secrets", 1)
    assert snapshot(redis_sync) == before
