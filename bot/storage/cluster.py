"""Redis Cluster, held to the guarantees the bot's one-server client gives.

redis-py's cluster client differs from the one-server client in three ways that matter:

- Its per-node pools never wait: past `max_connections` a command fails at once
  (MaxConnectionsError). Here every command and pipeline first takes one of `limit`
  turns, waiting up to `wait_seconds`, as the one-server BlockingConnectionPool does;
  no node can then have more than `limit` connections in use.
- Its pipelines do not load Lua scripts (a one-server pipeline does, before it runs),
  so EVALSHA in a pipeline would fail with NOSCRIPT on a node that has not seen the
  script. A script queued in a cluster pipeline is sent as EVAL, with its source;
  Redis caches it by its SHA all the same. Called on its own, a script still goes by
  SHA and is loaded on every primary when a node does not know it.
- PING goes to one node; here it asks every primary, so /healthz and /readyz fail
  while part of the key space has no master.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.typing import EncodableT, KeyT, ScriptTextT


class BoundedRedisCluster(RedisCluster):
    """A RedisCluster with at most `limit` commands or pipelines in flight."""

    def __init__(self, *, limit: int, wait_seconds: float, **kwargs: Any) -> None:
        super().__init__(max_connections=limit, **kwargs)
        self._turns = asyncio.Semaphore(limit)
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the client's turns; wait for one at most `wait_seconds`."""
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._turns.acquire()
        except TimeoutError:
            raise RedisConnectionError("No connection available.") from None
        try:
            yield
        finally:
            self._turns.release()

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        async with self.turn():
            return await super().execute_command(*args, **kwargs)

    async def ping(self, **kwargs: Any) -> Any:
        """PONG from every primary: a Cluster with a master down is not ready, though
        redis-py would ask one node only."""
        kwargs.setdefault("target_nodes", RedisCluster.PRIMARIES)
        return await super().ping(**kwargs)

    def pipeline(self, transaction: Any | None = None,
                 shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises, as redis-py does
        # redis-py marks AbstractRedis._event_dispatcher abstract; it builds ClusterPipeline
        # the same way.
        return BoundedClusterPipeline(self, transaction)  # type: ignore[abstract]  # see above

    # redis-py's stubs give the sync Script here; the async client makes AsyncScripts.
    def register_script(  # type: ignore[override]  # see the line above
            self, script: ScriptTextT) -> AsyncScript:
        return ClusterScript(self, script)


class BoundedClusterPipeline(ClusterPipeline):
    """A cluster pipeline that runs within one of its client's turns."""

    async def execute(self, raise_on_error: bool = True,
                      allow_redirections: bool = True) -> list[Any]:
        client = self.cluster_client
        assert isinstance(client, BoundedRedisCluster)
        async with client.turn():
            return await super().execute(raise_on_error, allow_redirections)


class ClusterScript(AsyncScript):
    """A Lua script that, queued in a cluster pipeline, is sent as EVAL (see above)."""

    async def __call__(self, keys: Sequence[KeyT] | None = None,
                       args: Iterable[EncodableT] | None = None,
                       client: Any = None) -> Any:
        if isinstance(client, ClusterPipeline):
            keys = list(keys or [])
            return client.execute_command("EVAL", self.script, len(keys), *keys,
                                          *(args or []))
        return await super().__call__(keys, args, client)
