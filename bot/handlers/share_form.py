"""The share form, as every surface opens it (the command, the shortcut, the Home button,
a request's Share it): with the audiences the workspace may choose from. Not a listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.background import Deadline
from bot.domain import Audience
from bot.errors import StorageUnavailable
from bot.handlers.deps import Deps

# The policy is read before the form opens, within the trigger's 3 s: when Redis is slow
# the deployment's default decides what is offered (the submission applies the policy).
POLICY_READ_SECONDS = 0.5


async def audiences(deps: Deps, team: str) -> tuple[Audience, ...]:
    """What the form offers in `team`: the workspace always; people by email and anyone
    with the link where the deployment and the workspace's policy allow them."""
    external = deps.external
    if external is None or not external.available:
        return (Audience.WORKSPACE,)
    try:
        async with asyncio.timeout(POLICY_READ_SECONDS):
            return await external.audiences(team)
    except (StorageUnavailable, TimeoutError):
        return external.offered(enabled=external.defaults.enabled)


async def open_share_form(client: AsyncWebClient, deps: Deps, *, team: str,
                          trigger_id: object, deadline: Deadline,
                          response_url: object = None, user: str | None = None,
                          initial_users: Sequence[str] = (),
                          origin_channel: str | None = None, requested_by: str | None = None,
                          request_reason: str | None = None) -> None:
    """views.open of the share form (past the trigger's deadline, "busy" instead)."""
    view = render.share_modal(initial_users=initial_users, origin_channel=origin_channel,
                              requested_by=requested_by, request_reason=request_reason,
                              audiences=await audiences(deps, team))
    await deps.respond.open_view(client, trigger_id, view, deadline=deadline,
                                 response_url=response_url, user=user)
