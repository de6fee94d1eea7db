"""Storing a secret on one server in one step (STORE_HERE), against a real Redis: the same
keys and values the Cluster's three steps write, one round trip, and nothing written for
a taken code, a withdrawn share or a full quota."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from bot.domain.codes import new_secret_id
from bot.errors import CodeTaken, QuotaExceeded
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, RedisSecretStore
from bot.storage.keys import handle
from bot.storage.quota import Caps, RedisQuota
from bot.storage.secret_writes import SENDER_INDEX_SECONDS
from tests.conftest import stored_secrets
from tests.unit.test_reveal_round_trips import CountingConnection
from tests.unit.test_sharing import People, form

KEYS = KeySpace("ss")


@pytest.fixture
async def client(redis_url, redis_sync):
    """A client on the flushed test database whose round trips are counted."""
    connection = Redis.from_url(redis_url, connection_class=CountingConnection)
    yield connection
    await connection.aclose()


def quota_store(client, keyring, caps: Caps | None = None) -> RedisSecretStore:
    return RedisSecretStore(client, keys=KEYS, keyring=keyring, metadata_retention_seconds=3600,
                            quota=RedisQuota(client, keys=KEYS, caps=caps or Caps()))


def snapshot(redis_sync) -> dict[bytes, object]:
    """Every key but the audit log's and the sweep's (the session's bot, on the same Redis,
    may touch them at any moment): its value (the owed events without the Redis clock
    they carry) and its TTL to the minute."""
    out: dict[bytes, object] = {}
    for key in stored_secrets(redis_sync):
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


def seed_indexes(redis_sync, record, *, now: float) -> None:
    """What a store meets in its indexes: the sender's and the workspace's entries just
    inside and just past their 30 days, and an expiry entry already there for the handle
    (a store must not move it)."""
    cutoff = now - SENDER_INDEX_SECONDS
    for index in (KEYS.by_sender(record.team_id, record.sender_id),
                  KEYS.by_team(record.team_id)):
        redis_sync.zadd(index, {"OLDPAST": cutoff - 0.001, "OLDEDGE": cutoff,
                                "OLDKEPT": cutoff + 0.001})
    redis_sync.zadd(KEYS.expiries(), {handle(record.secret_id): record.expires_at - 60})


@pytest.mark.parametrize("later", [0.0, 3.25])
async def test_one_server_stores_what_the_clusters_three_steps_store(client, keyring,
                                                                   redis_sync, later):
    """The one-step store leaves Redis exactly as the quota's reservation, the index
    pipeline and CREATE do, taken one after the other (as a Cluster takes them), with
    the store's time at or after the secret's creation."""
    store = quota_store(client, keyring)
    record = await SharingService(store=store, keyring=keyring).share(
        form(recipients=("UBOB", "UCAROL")), people=People())
    name = handle(record.secret_id)
    ciphertext = redis_sync.get(KEYS.ciphertext(name))
    now = record.created_at + later
    redis_sync.flushdb()
    seed_indexes(redis_sync, record, now=now)
    await store.create(record, ciphertext, now=now)
    one_step = snapshot(redis_sync)
    assert {KEYS.meta(name).encode(), KEYS.expiries().encode(),
            KEYS.quota_held(f"T1:{record.sender_id}").encode()} <= set(one_step)
    kept = [m for m, _ in redis_sync.zrange(KEYS.by_team("T1"), 0, -1, withscores=True)]
    assert kept == [b"OLDKEPT", name.encode()]

    redis_sync.flushdb()
    seed_indexes(redis_sync, record, now=now)
    writes = quota_store(client, keyring)._writes
    writes._in_order = False  # a Cluster's steps, which one server can take too
    await writes.create(record, ciphertext, now=now)
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
    """Another secret drew the same share code (odds 1 in 2^59): refused, nothing moved."""
    store = quota_store(client, keyring)
    record = await SharingService(store=store, keyring=keyring).share(form(),
                                                                      people=People())
    other = replace(record, secret_id=new_secret_id(record.code), sender_id="UDAVE")
    assert handle(other.secret_id) == handle(record.secret_id)
    before = snapshot(redis_sync)
    with pytest.raises(CodeTaken):
        await store.create(other, b"another ciphertext", now=record.created_at + 5)
    assert snapshot(redis_sync) == before


@pytest.mark.parametrize("in_order", [True, False])
async def test_a_store_sent_again_after_a_lost_answer_changes_nothing(client, keyring,
                                                                      redis_sync, in_order):
    """The connection broke after Redis stored the secret and before its answer arrived;
    the client sends the same step again: it succeeds (the secret is not taken for
    another's, so it is neither stored twice under a new code nor given its room back),
    and writes nothing more. On a Cluster's steps too."""
    store = quota_store(client, keyring)
    store._writes._in_order = in_order
    record = await SharingService(store=store, keyring=keyring).share(form(),
                                                                      people=People())
    ciphertext = redis_sync.get(KEYS.ciphertext(handle(record.secret_id)))
    before = snapshot(redis_sync)
    await store.create(record, ciphertext, now=record.created_at)
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
    # Its room is given back: the quota holds nothing of it.
    owner = f"T1:{record.sender_id}"
    assert redis_sync.zcard(KEYS.quota_held(owner)) == 0
    assert redis_sync.hgetall(KEYS.quota_sizes(owner)) == {}
    assert redis_sync.hgetall(KEYS.quota_sizes("T1")) == {}
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


async def test_a_full_workspace_refuses_another_senders_share(client, keyring, redis_sync):
    store = quota_store(client, keyring, Caps(workspace_secrets=1))
    service = SharingService(store=store, keyring=keyring)
    await service.share(form(), people=People())
    before = snapshot(redis_sync)
    with pytest.raises(QuotaExceeded) as refused:
        await service.share(form(sender_id="UDAVE"), people=People())
    assert (refused.value.scope, refused.value.limit, refused.value.held_secrets) == \
        ("workspace", "secrets", 1)
    assert snapshot(redis_sync) == before
