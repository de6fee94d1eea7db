"""Undoing writes whose outcome a Redis outage left in doubt, once Redis answers again.

A command sent to a Redis that then froze (paused, cut off) waits in its socket buffer
and runs when Redis runs again, after the bot has already told the person "nothing
happened". So for each such write the bot keeps trying its undo (withdraw the share,
give back the claim) until Redis answers, for a bounded time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.background import Background
from bot.errors import StorageUnavailable

GIVE_UP_SECONDS = 15 * 60.0
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 10.0


async def when_back(undo: Callable[[], Awaitable[bool]], *, what: str,
                    logger: logging.Logger, give_up_after: float = GIVE_UP_SECONDS,
                    on_undone: Callable[[], Awaitable[None]] | None = None) -> bool:
    """Run `undo` until Redis answers (backing off between tries); True when it undid
    something (then `on_undone` runs, e.g. to audit it). Logged by `what`, never by data."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    pause = FIRST_PAUSE_SECONDS
    while True:
        try:
            undone = await undo()
        except StorageUnavailable:
            if loop.time() + pause > deadline:
                logger.error("gave up undoing %s: the secret store stayed unreachable", what)
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            continue
        if undone:
            logger.info("undid %s after a storage outage", what)
            if on_undone is not None:
                await on_undone()
        return undone


def recover(background: Background, undo: Callable[[], Awaitable[bool]], *, what: str,
            logger: logging.Logger,
            on_undone: Callable[[], Awaitable[None]] | None = None) -> None:
    """Undo, once Redis answers again, a write a Redis outage left in doubt (in the
    background; it takes no lane's slot: it mostly waits)."""
    async def recovering() -> None:
        await when_back(undo, what=what, logger=logger, on_undone=on_undone)
    background.spawn(recovering(), name=f"undo-{what}", lane=None, committed=True)
