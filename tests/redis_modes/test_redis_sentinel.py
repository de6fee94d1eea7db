"""The bot behind Redis Sentinel (a master, a replica and three Sentinels started here),
including a failover it lives through without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.storage.sentinel import MASTER_CHECK_SECONDS
from devtools.harness.redis_nodes import RedisNode
from devtools.harness.redis_sentinel import LocalSentinel
from tests.conftest import BOB, CAROL, audit_lines
from tests.redis_modes.redis_mode_checks import (
    SECRET,
    check_doctor,
    check_share_and_reveal,
    check_sweep,
    check_tools,
    reveal,
    share,
)

pytestmark = [pytest.mark.redis_sentinel, pytest.mark.e2e]


@pytest.fixture(scope="module")
def sentinel() -> Iterator[LocalSentinel]:
    with LocalSentinel(replicas=1, sentinels=3) as started:
        yield started


@pytest.fixture(scope="module")
def redis_mode(sentinel):
    return sentinel


def test_share_reveal_and_audit_behind_sentinel(sim, sentinel):
    """Share, reveal once, refusal and the audit outbox work on the master Sentinel names."""
    with sentinel.master_client() as client:
        code = check_share_and_reveal(sim, client)
        assert client.exists(f"ss:{{{code.replace('-', '')}}}:m")


def test_tools_behind_sentinel(sim, sentinel, tmp_path):
    """`admin stats` and `audit export` find the master through the Sentinels."""
    check_tools(sim, sentinel.url, tmp_path, count=3)
    check_doctor(sentinel.url, tmp_path)


def test_sweep_behind_sentinel(sentinel, slack):
    """The expiry sweep works through a Sentinel-managed client."""
    check_sweep(sentinel.url, slack, sentinel.flush)


def test_failover_keeps_the_bot_working_without_a_restart(sim, sentinel, bot, slack):
    """After SENTINEL FAILOVER the same bot process reveals a secret shared before it
    (it was replicated), shares and reveals new ones on the new master, and its audit
    outbox goes on posting."""
    code = share(sim, [BOB, CAROL])
    assert reveal(sim, BOB) == SECRET
    before = len(audit_lines(slack, 2))
    old_master = sentinel.master_port()

    new_master = sentinel.failover()

    assert new_master != old_master
    assert reveal(sim, CAROL) == SECRET
    later = share(sim, [BOB])
    assert reveal(sim, BOB) == SECRET
    assert bot.returncode is None
    assert bot.get("/readyz")[0] == 200
    with sentinel.master_client() as client:
        assert client.connection_pool.connection_kwargs["port"] == new_master
        for each in (code, later):
            assert client.exists(f"ss:{{{each.replace('-', '')}}}:m")
    lines = audit_lines(slack, before + 3)
    assert any("Secret opened" in line and code in line for line in lines[before:])
    assert any("Secret created" in line and later in line for line in lines[before:])


async def test_a_burst_waits_for_a_free_connection(sentinel):
    """With at most 4 connections, 200 concurrent commands all succeed and the pool
    never opens a fifth (redis-py's own Sentinel pool would fail them)."""
    from bot.storage import connect

    sentinel.flush()
    client = connect(sentinel.url, max_connections=4)
    results = await asyncio.gather(*(client.incr("burst") for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    pool = client.connection_pool
    assert len(pool._available_connections) + len(pool._in_use_connections) <= 4
    await client.aclose()


async def test_writes_follow_the_sentinels_within_a_second(tmp_path):
    """When the Sentinels name another master while the old one still takes writes (as
    after a forced failover, before they demote it), the bot's client moves its writes
    to the new master within about a second, without waiting to be disconnected."""
    from bot.storage import connect

    with LocalSentinel(replicas=0, sentinels=1) as setup, \
            RedisNode(tmp_path / "other") as other:
        old = setup.data_nodes[0]
        client = connect(setup.url)
        assert await client.set("where", "old")
        with setup.sentinels[0].client() as sentinel:
            sentinel.execute_command("SENTINEL", "REMOVE", setup.service)
            sentinel.execute_command("SENTINEL", "MONITOR", setup.service, "127.0.0.1",
                                     str(other.port), "1")
        await asyncio.sleep(MASTER_CHECK_SECONDS + 0.1)
        assert await client.set("where", "new")
        with other.client() as new, old.client() as previous:
            assert new.get("where") == b"new"
            assert previous.get("where") == b"old"
        await client.aclose()
