"""The Redis client the bot uses: bounded, with timeouts well inside Slack's 3 seconds.

The same guarantees hold on one server, behind Sentinel and on a Cluster: at most
`max_connections` commands in flight (a burst waits up to TIMEOUT_SECONDS for a free
connection, then fails as Redis being unreachable) and every socket operation gives up
after TIMEOUT_SECONDS.
"""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.errors import ConfigError
from bot.storage.cluster import BoundedRedisCluster
from bot.storage.redis_url import RedisMode, RedisTarget, parse_redis_url
from bot.storage.sending import DirectConnection, DirectSSLConnection, DirectUnixConnection
from bot.storage.sentinel import sentinel_master

# Redis answers in well under a millisecond; one second without an answer means it is
# down, restarting or cut off (bot.storage.faults also bounds each operation as a whole),
# so an answer that needs Redis is given well within Slack's 3 s.
TIMEOUT_SECONDS = 1.0
MAX_CONNECTIONS = 64
HEALTH_CHECK_SECONDS = 30

# What `connect` returns; the store, the audit stream and the tools take either.
RedisClient = aioredis.Redis | RedisCluster


def script_client(pipe: Pipeline | ClusterPipeline) -> RedisClient:
    """A pipeline, as the `client=` of a registered script: redis-py queues the script in
    it (EVALSHA, loaded first when Redis lacks it) but types `client` as a plain client."""
    return cast(RedisClient, pipe)


def connect(url: str, *, cluster: bool = False,
            max_connections: int = MAX_CONNECTIONS) -> RedisClient:
    """A client for REDIS_URL (and REDIS_CLUSTER): one server, Sentinel or Cluster.

    Raises ConfigError for a URL it cannot read; the message never quotes the URL."""
    try:
        target = parse_redis_url(url, cluster=cluster)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL {exc}") from None
    return connect_to(target, max_connections=max_connections)


def connect_to(target: RedisTarget, *, max_connections: int = MAX_CONNECTIONS) -> RedisClient:
    timeouts: dict[str, Any] = {"socket_timeout": TIMEOUT_SECONDS,
                                "socket_connect_timeout": TIMEOUT_SECONDS,
                                "health_check_interval": HEALTH_CHECK_SECONDS}
    tls: dict[str, Any] = target.tls.kwargs() if target.tls else {}
    if target.mode is RedisMode.CLUSTER:
        return BoundedRedisCluster(
            limit=max_connections, wait_seconds=TIMEOUT_SECONDS,
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            ssl=target.tls is not None, **tls, **target.auth_kwargs(), **timeouts)
    if target.mode is RedisMode.SENTINEL:
        return sentinel_master(target, max_connections=max_connections,
                               wait_seconds=TIMEOUT_SECONDS, retry=_reconnect_once(),
                               **timeouts)
    # One server: a pool that waits (up to the timeout) for a free connection rather than
    # opening without bound, so a burst of clicks queues for Redis instead of failing.
    if target.unix_path is not None:
        where: dict[str, Any] = {"connection_class": DirectUnixConnection,
                                 "path": target.unix_path}
    else:
        host, port = target.nodes[0]
        where = {"host": host, "port": port, "connection_class": DirectConnection}
        if target.tls is not None:
            where.update(connection_class=DirectSSLConnection, **tls)
    pool = aioredis.BlockingConnectionPool(
        max_connections=max_connections, timeout=TIMEOUT_SECONDS, db=target.db,
        **where, **target.auth_kwargs(), **timeouts,
        retry=_reconnect_once())
    return aioredis.Redis(connection_pool=pool)


def _reconnect_once() -> Retry:
    # After Redis restarts (or closes connections idle past its `timeout`), every pooled
    # connection is dead, and the first command on each fails with a connection error: it
    # is sent once more on a fresh connection, so neither costs anybody an error. A
    # connection error means the command did not reach the server we talk to now (it
    # never ran, or ran on the server that died with the connection). Timeouts are not
    # retried: that would double the wait. (A Cluster client has retries of its own.)
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
