"""A share form submitted twice (a double click on Share, a proxy retrying the request)
has the same view id: the second waits for the first and gets the same answer, so one
secret is stored and one set of Reveal messages sent (marks in Redis, shared by every
replica)."""

from __future__ import annotations

import asyncio
import time

from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps
from bot.secrets.limits import REPEAT_SECONDS
from bot.storage.once import PENDING as PENDING  # the handlers' word for it, too

SHARED = "shared"
# A submission being handled: longer than a share may take before Slack is answered
# (so a repeat waits for it), short enough that a mark left by a crash frees the form soon.
PENDING_SECONDS = 10
REPEAT_WAIT_SECONDS = 2.2
MARK_SECONDS = 1.0
QUICK_SECONDS = 0.25
# How long a repeat is refused: as long as a replayed Reveal click (bot.secrets.limits).
DONE_SECONDS = REPEAT_SECONDS


async def claim_submission(deps: Deps, *, team: str, view_id: str) -> str | None:
    """None when this submission of the form is the one to handle; else the outcome of
    the one that was (SHARED, or PENDING when it is still not done after a wait).
    Raises StorageUnavailable."""
    deadline = time.monotonic() + REPEAT_WAIT_SECONDS
    while True:
        try:
            # A fresh connection to a frozen Redis would wait for the connection and then
            # the command: bounded as one, so the form is still answered in time.
            async with asyncio.timeout(MARK_SECONDS):
                earlier = await deps.once.begin("submit", team, view_id,
                                                ttl_seconds=PENDING_SECONDS)
        except TimeoutError:
            raise StorageUnavailable("the secret store is unreachable") from None
        if earlier is None or earlier == SHARED:
            return earlier
        if time.monotonic() > deadline:
            return PENDING
        await asyncio.sleep(0.05)  # the first is being handled: wait for its outcome


async def settle_submission(deps: Deps, *, team: str, view_id: str, shared: bool) -> None:
    """Record how the submission ended: SHARED (repeats just close the form), or
    forgotten (nothing was stored: the form may be sent again)."""
    try:
        if shared:
            await deps.once.settle("submit", team, view_id, outcome=SHARED,
                                   ttl_seconds=DONE_SECONDS)
        else:
            await deps.once.forget("submit", team, view_id)
    except StorageUnavailable:
        deps.logger.warning("could not record a form submission's outcome")


async def settle_submission_soon(deps: Deps, *, team: str, view_id: str,
                                 shared: bool) -> None:
    """`settle_submission` without holding up the answer (Bolt sends it when the listener
    returns): a refusal's mark is removed at once when Redis answers quickly (the form
    leaves nothing behind), else, like a success, after the answer."""
    if not shared:
        try:
            async with asyncio.timeout(QUICK_SECONDS):
                await deps.once.forget("submit", team, view_id)
            return
        except (TimeoutError, StorageUnavailable):
            pass
    deps.background.later(settle_submission(deps, team=team, view_id=view_id, shared=shared),
               name="settle-submission")
