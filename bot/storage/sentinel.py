"""The Redis master named by Sentinel, with the one-server client's guarantees.

redis-py's Sentinel pool opens connections without bound (its base class raises when
full, it never waits); this one waits up to the timeout for a free connection, as the
bot's one-server pool does. After a failover the pool asks the Sentinels again: a
connection to the old master fails once (the Sentinels make the demoted master drop
its clients, and a write there is refused), and the next connection goes to the new
master, without a restart.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from bot.storage.redis_url import RedisTarget


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Connections to the current master, at most `max_connections`, waiting for one
    up to `timeout` seconds."""


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
