"""The bot on a real 3-master Redis Cluster (redis-server processes started here)."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Iterator

import pytest
import redis
from redis.asyncio.cluster import RedisCluster

from bot.domain import AuditAction
from bot.errors import StorageUnavailable
from bot.secrets.external import WebOutcome
from bot.secrets.web_parts import WebLimits
from bot.storage import KeySpace, RedisSecretStore, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.quota_lua import SIZE_SPAN, SIZE_UNIT
from devtools.harness.redis_cluster import LocalRedisCluster
from devtools.harness.redis_nodes import free_port
from tests.conftest import BOB, TEST_KEYS, keyring_of_test_keys
from tests.redis_modes.redis_mode_checks import (
    SECRET,
    check_doctor,
    check_share_and_reveal,
    check_sweep,
    check_tools,
    reveal,
    run_tool,
    share,
)
from tests.unit.test_link_reveal import Web
from tests.unit.test_sharing import SECRET as SECRET_TEXT

pytestmark = [pytest.mark.redis_cluster, pytest.mark.e2e]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRedisCluster]:
    with LocalRedisCluster(masters=3) as started:
        yield started


@pytest.fixture(scope="module")
def redis_mode(cluster):
    return cluster


def test_share_reveal_and_audit_on_a_cluster(sim, cluster, bot):
    """Share, reveal once, refusal and the audit outbox all work on a Cluster, and a
    secret's keys live on one master (one hash tag, one slot)."""
    with cluster.client() as client:
        code = check_share_and_reveal(sim, client)
        handle = code.replace("-", "")
        assert client.keyslot(f"ss:{{{handle}}}:m") == client.keyslot(f"ss:{{{handle}}}:c")
    holders = {port for port, keys in cluster.keys_per_node().items()
               for key in keys if f"{{{handle}}}".encode() in key}
    assert len(holders) == 1
    assert bot.get("/readyz")[0] == 200


def test_scripts_in_pipelines_work_after_a_script_flush(sim, cluster):
    """A reveal (its claim is a script in a pipeline) works on nodes that have forgotten
    every script: cluster pipelines send scripts as EVAL, not by SHA. The storage quota's
    keys share one slot: the share reserved room in the sender's and the workspace's
    quotas, and the burn (a give-back queued in a pipeline) frees both but for the
    metadata it keeps, counted in bytes while it is kept."""
    share(sim, [BOB])
    with cluster.client() as client:
        held = sorted(client.scan_iter(match="ss:quota:*:held"))
        quota = sorted(client.scan_iter(match="ss:quota:*"))
        assert len(held) == 1
        assert len(quota) >= 4  # the sender's and the workspace's sets and sums
        assert len({client.keyslot(k) for k in quota}) == 1
        assert [client.zcard(k) for k in held] == [1]
    for node in cluster.nodes:
        with node.client() as client:
            client.script_flush()
    assert reveal(sim, BOB) == SECRET
    with cluster.client() as client:
        deadline = time.monotonic() + 5  # the view is confirmed once Slack showed it
        while sum(client.zcard(k) for k in held) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [client.zcard(k) for k in held] == [0]
        kept = sorted(client.scan_iter(match="ss:quota:*:kept"))
        assert len(kept) == 1
        assert client.keyslot(kept[0]) == client.keyslot(held[0])
        [(_, score)] = client.zrange(kept[0], 0, -1, withscores=True)
        sums = [k for k in quota if k.endswith(b":sizes")]
        assert len(sums) == 2
        assert all(int(client.hget(k, "*")) == int(score) % SIZE_SPAN * SIZE_UNIT
                   for k in sums)


def test_tools_count_secrets_on_every_master(sim, cluster, tmp_path):
    """`admin stats` scans every master and `audit export` reads the one stream; the
    secrets were spread over several masters."""
    codes = check_tools(sim, cluster.url, tmp_path, count=10)
    spread = {port for port, keys in cluster.keys_per_node().items()
              for key in keys if key.endswith(b":m")}
    assert len(spread) >= 2, "ten random codes all hashed to one master"
    assert len(codes) == 10
    check_doctor(cluster.url, tmp_path)
    seed = f"redis://{cluster.addresses[0]}"
    check_doctor(seed, tmp_path, REDIS_CLUSTER="true")
    by_setting = run_tool(["admin", "stats"], seed, tmp_path, REDIS_CLUSTER="true")
    assert re.search(r"active\s+10\b", by_setting.stdout), by_setting.stdout


def test_keys_rotate_and_check_on_a_cluster(sim, cluster, tmp_path):
    """`keys rotate` re-encrypts secrets spread over several masters (the expiry index is
    one key; each compare-and-set stays in its secret's slot), and `keys check` then finds
    only the new key in use."""
    from bot.crypto import MasterKey, StaticKeyRing, decrypt

    new = MasterKey("k9", b"\x09" * 32)
    keys = f"k9:{base64.b64encode(new.material).decode()},{TEST_KEYS}"
    codes = [share(sim, [BOB]) for _ in range(6)]
    done = run_tool(["keys", "rotate"], cluster.url, tmp_path, ENCRYPTION_KEYS=keys)
    assert done.returncode == 0, done.stderr
    assert "scanned 6, rotated 6" in done.stdout
    check = run_tool(["keys", "check"], cluster.url, tmp_path, ENCRYPTION_KEYS=keys)
    assert check.returncode == 0, check.stdout
    assert "Unused, can be removed from ENCRYPTION_KEYS: k1" in check.stdout
    with cluster.client() as client:
        for code in codes:
            handle = code.replace("-", "")
            secret_id = client.hget(f"ss:{{{handle}}}:m", "id").decode()
            token = client.get(f"ss:{{{handle}}}:c")
            assert decrypt(token, record_id=secret_id,
                           keyring=StaticKeyRing([new])).decode() == SECRET


def test_sweep_on_a_cluster(cluster, slack):
    """The expiry sweep reads its index and ends each secret once on a Cluster."""
    check_sweep(cluster.url, slack, cluster.flush)


async def test_a_burst_waits_for_a_turn_instead_of_failing(cluster):
    """With 4 connections per node at most, 300 concurrent commands, scripts and
    pipelines all succeed (redis-py's cluster client alone would fail them at once)."""
    cluster.flush()
    client = connect(cluster.url, max_connections=4)
    stream = AuditStream(client, prefix="ss", retention_seconds=3600)

    async def one(i: int) -> None:
        if i % 3 == 0:
            assert await stream.hold_lease(f"owner{i}", seconds=5) in (True, False)
        elif i % 3 == 1:
            async with client.pipeline(transaction=False) as pipe:
                pipe.incr(f"k{i}")
                pipe.get(f"k{i}")
                assert await pipe.execute() == [1, b"1"]
        else:
            assert await client.incr("shared") >= 1

    await asyncio.gather(*(one(i) for i in range(300)))
    for node in client.get_nodes():
        assert len(node._connections) <= 4  # the bound held on every node
    await client.aclose()

    plain = RedisCluster.from_url(cluster.url.replace("redis+cluster", "redis").split(",")[0],
                                  max_connections=4)
    with pytest.raises(redis.exceptions.MaxConnectionsError):
        await asyncio.gather(*(plain.incr("shared") for _ in range(300)))
    await plain.aclose()


async def test_an_unreachable_cluster_reads_as_storage_unavailable():
    """No reachable seed node: the store says unavailable (not an unexpected error)."""
    client = connect(f"redis+cluster://127.0.0.1:{free_port()}")
    store = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring_of_test_keys(),
                             metadata_retention_seconds=60)
    with pytest.raises(StorageUnavailable):
        await store.ping()
    await client.aclose()


async def test_ping_needs_every_master():
    """The store's ping (behind /healthz and /readyz) fails while one master is down,
    where a plain cluster PING would ask a single node and answer PONG."""
    with LocalRedisCluster(masters=3) as own:
        client = connect(own.url)
        store = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring_of_test_keys(),
                             metadata_retention_seconds=60)
        assert await store.ping()
        own.nodes[1].stop()
        with pytest.raises(StorageUnavailable):
            await store.ping()
        await client.aclose()


async def test_a_link_is_revealed_in_one_step_on_a_cluster(cluster):
    """The web page's one-step reveal on a Cluster: the client's limit, in another slot,
    is counted in a step of its own first; the view, its events and the burn happen in
    the secret's slot, and the follow-ups reach the audit stream."""
    cluster.flush()
    client = connect(cluster.url)
    web = Web(client, WebLimits(reveals_per_ip=2, reveals_per_secret=100))
    assert not web.store.link_views.one_server
    secret_id, key = await web.link(view_mode="total", total_views="2")
    results = await asyncio.gather(*(web.reveal(secret_id, key) for _ in range(2)))
    assert [r.text for r in results] == [SECRET_TEXT, SECRET_TEXT]
    assert sorted(r.last_view for r in results) == [False, True]
    assert (await web.reveal(secret_id, key)).outcome is WebOutcome.RATE_LIMITED
    await web.service.settled()
    actions = [e.action for e in await web.events(secret_id)]
    assert actions.count(AuditAction.SECRET_OPENED) == 2
    assert actions[-1] is AuditAction.SECRET_BURNED
    with cluster.client() as plain:
        handle = secret_id.replace("-", "")[:12]
        settled = {f"opened:{secret_id}:1", f"opened:{secret_id}:2", f"burned:{secret_id}"}
        assert not settled & {k.decode() for k in plain.hkeys(f"ss:{{{handle}}}:o")}
        assert not plain.exists(f"ss:{{{handle}}}:c")
    await web.service.close()
    await client.aclose()


async def test_a_reveals_attempt_is_taken_in_a_step_of_its_own_on_a_cluster(cluster):
    """On a Cluster the person's reveal window and the click's mark are in another slot
    than the secret: the attempt is taken in a step before the claim, with the same
    answers as on one server (a replay does nothing, the limit refuses, neither claims a
    view)."""
    from bot.domain import RevealOutcome
    from bot.secrets.limits import Rate, RateLimits
    from bot.secrets.sharing import SharingService
    from bot.storage.rate_counter import RedisRateCounter
    from tests.unit.test_sharing import People, form

    cluster.flush()
    client = connect(cluster.url)
    keys = KeySpace("ss")
    store = RedisSecretStore(client, keys=keys, keyring=keyring_of_test_keys(),
                             metadata_retention_seconds=60)
    limits = RateLimits(RedisRateCounter(client, keys=keys), share=None, reveal=Rate(1, 600))
    service = SharingService(store=store, keyring=keyring_of_test_keys(), limits=limits)
    record = await service.share(form(view_mode="unlimited"), people=People())
    shown: list[str] = []

    async def attempt(token: str) -> RevealOutcome:
        async def show(plaintext, claim):  # type: ignore[no-untyped-def]
            shown.append(plaintext)
        return (await service.reveal(secret_id=record.secret_id, user_id="UBOB",
                                     team_id="T1", show=show, attempt=token)).outcome

    assert await attempt("one") is RevealOutcome.REVEALED
    assert await attempt("one") is RevealOutcome.REPEATED
    assert await attempt("two") is RevealOutcome.RATE_LIMITED
    assert shown == [SECRET_TEXT]
    with cluster.client() as plain:
        assert plain.hget(keys.meta(record.secret_id), "used") == b"1"
        assert plain.hget(keys.meta(record.secret_id), "claims") == b"0"
    await client.aclose()
