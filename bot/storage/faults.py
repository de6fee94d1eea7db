"""Redis faults, turned into the domain's one storage error."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import ClusterError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StorageUnavailable

# Redis is unreachable, or (Sentinel, Cluster) not serving this key right now: a master
# not yet known after a failover (a ConnectionError), a Cluster down or resharding.
# TimeoutError: the operation as a whole took longer than OPERATION_SECONDS.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, ClusterError,
               RedisClusterException, TryAgainError, TimeoutError)

# A store operation is a round trip or a few (well under a millisecond each). Each wait is
# bounded by the client's 1 s timeouts, but a fresh connection to a frozen Redis waits for
# its handshake and then for the command: the operation as a whole is bounded too, so an
# answer that needs Redis still reaches Slack well inside its 3 s.
OPERATION_SECONDS = 1.5

P = ParamSpec("P")
T = TypeVar("T")


def unavailable_on_redis_errors(
        method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    # Redis faults become one domain error; the driver's message (which may echo a
    # command's arguments) is not carried along.
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            async with asyncio.timeout(OPERATION_SECONDS):
                return await method(*args, **kwargs)
        except UNAVAILABLE:
            raise StorageUnavailable("the secret store is unreachable") from None
    return wrapper
