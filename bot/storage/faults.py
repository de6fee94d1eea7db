"""Redis faults, turned into the domain's one storage error."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import ClusterError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StorageUnavailable

# Redis is unreachable, or (Sentinel, Cluster) not serving this key right now: a master
# not yet known after a failover (a ConnectionError), a Cluster down or resharding.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, ClusterError,
               RedisClusterException, TryAgainError)

P = ParamSpec("P")
T = TypeVar("T")


def unavailable_on_redis_errors(
        method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    # Redis faults become one domain error; the driver's message (which may echo a
    # command's arguments) is not carried along.
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except UNAVAILABLE:
            raise StorageUnavailable("the secret store is unreachable") from None
    return wrapper
