"""Passphrase work (scrypt: ~0.3 s of CPU and 128 MiB each, bot.crypto) off the event
loop, a few at once: shares and reveals draw on the same slots."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

# scrypt runs at most this many at once (one per core here).
KDF_CONCURRENCY = 2

T = TypeVar("T")


class KdfSlots:
    """Runs passphrase work on a thread, at most `size` at once."""

    def __init__(self, size: int = KDF_CONCURRENCY) -> None:
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[[], T]) -> T:
        """`work()`, on a thread once a slot is free. A slot is held until its thread is
        done, even when the caller stops waiting (a share past its budget), so abandoned
        work never lets more run at once."""
        await self._slots.acquire()
        try:
            running = asyncio.get_running_loop().run_in_executor(None, work)
        except BaseException:
            self._slots.release()
            raise

        def done(future: asyncio.Future[T]) -> None:
            self._slots.release()
            if not future.cancelled():
                future.exception()  # retrieved, for a caller that stopped waiting
        running.add_done_callback(done)
        return await asyncio.shield(running)
