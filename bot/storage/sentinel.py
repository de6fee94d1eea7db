"""The Redis master named by Sentinel, with the one-server client's guarantees.

redis-py's Sentinel pool opens connections without bound (its base class raises when
full, it never waits); this one waits up to the timeout for a free connection, as the
bot's one-server pool does.

Following a failover: redis-py asks the Sentinels only when it opens a connection, so
pooled connections to the old master live on until that server drops them. After a
forced failover the old master takes writes for a few seconds more, until the
Sentinels demote it, and whatever was written there in between is lost (a reveal
counted there could be counted again). So this pool asks the Sentinels at most once a
second, when a connection is taken, and drops connections to a master they no longer
name: writes move over within about a second of the Sentinels' decision.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.redis_url import RedisTarget

MASTER_CHECK_SECONDS = 1.0


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Connections to the current master, at most `max_connections`, waiting for one
    up to `timeout` seconds; the master is looked up again at most once a second."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # redis-py, untyped
        self._master_checked = float("-inf")

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - self._master_checked >= MASTER_CHECK_SECONDS:
            self._master_checked = now
            # Drops idle connections when the master has moved (redis-py does). With
            # the Sentinels unreachable, keep the master we know: a new connection asks
            # them again (and fails if they stay silent).
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                await self.get_master_address()  # type: ignore[no-untyped-call]  # redis-py
        return await super().get_connection(  # type: ignore[no-untyped-call]  # redis-py
            *args, **kwargs)

    async def release(self, connection: AbstractConnection) -> None:
        # A connection that was in use when the master moved goes no further.
        address = (getattr(connection, "host", None), getattr(connection, "port", None))
        if self.master_address is not None and address != tuple(self.master_address):
            await connection.disconnect()
        await super().release(connection)


class SentinelMasterRedis(aioredis.Redis):
    """The master's client; closing it also closes its connections to the Sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            pool = self.connection_pool
            if isinstance(pool, SentinelConnectionPool):
                await pool.sentinel_manager.aclose()


def sentinel_master(target: RedisTarget, *, max_connections: int, wait_seconds: float,
                    **timeouts: Any) -> aioredis.Redis:
    """A client of the master `target.service_name` that the Sentinels name."""
    tls: dict[str, Any] = target.tls.kwargs() if target.tls else {}
    ssl = {"ssl": True, **tls} if target.tls else {}
    assert target.service_name is not None  # a Sentinel URL always names the master
    sentinels = Sentinel(
        list(target.nodes),
        sentinel_kwargs={"socket_timeout": timeouts["socket_timeout"],
                         "socket_connect_timeout": timeouts["socket_connect_timeout"],
                         "username": target.sentinel_username,
                         "password": target.sentinel_password, **ssl})
    client: aioredis.Redis = sentinels.master_for(
        target.service_name, redis_class=SentinelMasterRedis,
        connection_pool_class=BlockingSentinelPool, max_connections=max_connections,
        timeout=wait_seconds, db=target.db, **target.auth_kwargs(), **ssl, **timeouts)
    return client
