"""Redis connections that send a command without a task of its own.

redis-py (8.x) bounds each socket write by wrapping it in `asyncio.wait_for`, which on
Python 3.11 makes a Task per command: two trips through the event loop and a task's
cost for a write that almost always completes at once (a reveal sends about seven). The
same bound as an `asyncio.timeout` scope costs neither, and behaves the same: a write
that cannot finish in `socket_timeout` seconds (Redis stopped reading, its buffers
full) drops the connection and raises redis's TimeoutError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _DirectSend:
    """Mixin over a redis-py connection class: `send_packed_command` as redis-py's, with
    the write bounded by a timeout scope instead of a wait_for task."""

    socket_timeout: float | None
    is_connected: bool
    _writer: asyncio.StreamWriter | None

    async def send_packed_command(self, command: bytes | str | Iterable[bytes],
                                  check_health: bool = True) -> None:
        base: Any = super()
        if not self.is_connected:
            await base.connect_check_health(check_health=False)
        if check_health:
            await base.check_health()
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        writer = self._writer
        assert writer is not None  # connected just above
        try:
            async with asyncio.timeout(self.socket_timeout):
                writer.writelines(command)
                await writer.drain()
        except TimeoutError:
            await base.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await base.disconnect(nowait=True)
            # As redis-py words it (asyncio's "Connection lost" has no strerror).
            err_no, message = exc.args if len(exc.args) == 2 else ("UNKNOWN", exc.args[:1])
            raise RedisConnectionError(
                f"Error {err_no} while writing to socket. {message}.") from exc
        except BaseException:
            # Cancelled mid-write: what was sent of the command is unknown (as redis-py).
            await base.disconnect(nowait=True)
            raise


class DirectConnection(_DirectSend, Connection):
    pass


class DirectSSLConnection(_DirectSend, SSLConnection):
    pass


class DirectUnixConnection(_DirectSend, UnixDomainSocketConnection):
    pass
