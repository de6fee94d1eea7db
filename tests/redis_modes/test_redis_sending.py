"""bot.storage.sending: a command is sent without a task of its own, and a write Redis
does not take in time still fails as redis-py's does (connection dropped, TimeoutError)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage import connect
from bot.storage.connection import TIMEOUT_SECONDS
from devtools.harness.redis_control import ControlledRedis


def _counting_tasks() -> list[asyncio.Task]:
    loop = asyncio.get_running_loop()
    made: list[asyncio.Task] = []

    def factory(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task
    loop.set_task_factory(factory)
    return made


async def test_commands_make_no_task_each(redis_url):
    """Twenty commands make no task (redis-py's own connection makes one per command,
    which the second client shows: the count is not blind)."""
    ours = connect(redis_url)
    theirs = aioredis.Redis.from_url(redis_url, socket_timeout=TIMEOUT_SECONDS)
    await ours.ping()
    await theirs.ping()
    made = _counting_tasks()
    try:
        for i in range(20):
            await ours.set(f"sending-test:{i}", "x")
        assert made == []
        for i in range(20):
            await theirs.set(f"sending-test:{i}", "x")
        assert len(made) >= 20
    finally:
        asyncio.get_running_loop().set_task_factory(None)
        await ours.delete(*[f"sending-test:{i}" for i in range(20)])
        await ours.aclose()
        await theirs.aclose()


async def test_a_write_redis_does_not_take_times_out_and_drops_the_connection(tmp_path):
    """With Redis stopped, a write larger than the socket buffers cannot finish: it
    fails after the socket timeout, and the connection is not reused half-written."""
    with ControlledRedis(tmp_path) as server:
        client = connect(server.url)
        await client.ping()
        server.pause()
        try:
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await client.set("big", b"x" * (64 * 1024 * 1024))
            assert TIMEOUT_SECONDS * 0.9 <= time.monotonic() - started < TIMEOUT_SECONDS * 3
        finally:
            server.resume()
        assert await client.set("small", "ok")
        assert await client.get("small") == b"ok"
        await client.aclose()
