"""Who is an admin: the ADMIN_USER_IDS, and optionally the workspace's admins and owners
(of that workspace: users.info must give the request's team_id, and no is_stranger).
With several workspaces (OAuth), each workspace's own list instead of ADMIN_USER_IDS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CannotVerify
from bot.slack.calls import SLACK_FAILURES, without_retries

_CHECK_FAILURES: tuple[type[BaseException], ...] = (*SLACK_FAILURES, TimeoutError)

CACHE_SECONDS = 300
CHECK_SECONDS = 1.0  # runs before Slack is answered: never near its 3 s


def is_workspace_admin(user: dict[str, Any], team_id: str) -> bool:
    """Whether users.info's `user` is an admin or owner of `team_id` itself. Its flags
    speak of the person's own workspace: a Slack Connect guest who administers theirs
    (another team_id, or is_stranger) is nobody special in this one."""
    if user.get("is_stranger") or user.get("team_id") != team_id or not team_id:
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def workspace_admin(client: AsyncWebClient, *, team_id: str, user_id: str) -> bool:
    """Whether users.info, asked now, says `user_id` administers or owns `team_id`.
    Raises CannotVerify when Slack does not answer within CHECK_SECONDS."""
    quick = without_retries(client, timeout=CHECK_SECONDS)
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            user = (await quick.users_info(user=user_id))["user"]
    except _CHECK_FAILURES:
        raise CannotVerify from None
    return is_workspace_admin(user if isinstance(user, dict) else {}, team_id)


class Admins:
    """Answers "may this person administer share-secret?" (workspace roles cached briefly,
    per process: a cache, so replicas may differ for a few minutes at most)."""

    def __init__(self, user_ids: tuple[str, ...], *, include_workspace_admins: bool,
                 clock: Callable[[], float] = time.monotonic,
                 team_admins: Callable[[str], Awaitable[frozenset[str]]] | None = None
                 ) -> None:
        self._ids = frozenset(user_ids)
        self._team_admins = team_admins
        self._workspace = include_workspace_admins
        self._clock = clock
        self._roles: dict[tuple[str, str], tuple[bool, float]] = {}

    async def is_admin(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> bool:
        if user_id in self._ids:
            return True
        if self._team_admins is not None and user_id in await self._team_admins(team_id):
            return True
        if not self._workspace:
            return False
        cached = self._roles.get((team_id, user_id))
        if cached and cached[1] > self._clock():
            return cached[0]
        verdict = await workspace_admin(client, team_id=team_id, user_id=user_id)
        if len(self._roles) > 10_000:
            self._roles.clear()
        self._roles[(team_id, user_id)] = (verdict, self._clock() + CACHE_SECONDS)
        return verdict
