"""The Redis client the bot uses: bounded, with timeouts well inside Slack's 3 seconds."""

from __future__ import annotations

import redis.asyncio as aioredis

TIMEOUT_SECONDS = 2.0
MAX_CONNECTIONS = 64


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    """A client whose pool waits (up to the timeout) for a free connection rather than
    opening without bound: a burst of clicks queues for Redis instead of failing."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS,
        health_check_interval=30)
    return aioredis.Redis(connection_pool=pool)
