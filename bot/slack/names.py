"""How the web page names who shared a secret: the sender's display name and their
workspace's name, asked of Slack (users.info, and auth.test, which names the team and
needs no scope beyond the bot's) and kept for a while, so that a
page costs no Slack call most of the time and a page view never waits on a rate limit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain import api_token_name, is_slack_user
from bot.render.external import api_sender_name
from bot.workspaces.routes import Workspaces

NAME_TTL_SECONDS = 3600
UNKNOWN_PERSON = "A teammate"
UNKNOWN_WORKSPACE = "Slack"
_MAX_NAMES = 10_000


class SlackNames:
    def __init__(self, workspaces: Workspaces, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._workspaces = workspaces
        self._clock = clock
        self._names: dict[tuple[str, str], tuple[float, str]] = {}

    async def sender_and_workspace(self, team_id: str, user_id: str) -> tuple[str, str]:
        """The sender's name and the workspace's. A sender who is not a Slack user is
        named without asking Slack: an API token by its name ("deploy-bot (API)")."""
        if is_slack_user(user_id):
            sender = await self._name(team_id, user_id, self._person)
        else:
            token = api_token_name(user_id)
            sender = api_sender_name(token) if token is not None else UNKNOWN_PERSON
        return sender, await self._name(team_id, "", self._workspace)

    async def _name(self, team_id: str, user_id: str,
                    ask: Callable[[str, str], Awaitable[str]]) -> str:
        key = (team_id, user_id)
        known = self._names.get(key)
        if known is not None and known[0] > self._clock():
            return known[1]
        name = await ask(team_id, user_id)
        if len(self._names) >= _MAX_NAMES:
            self._names.clear()  # a crude bound: names are cheap to ask again
        self._names[key] = (self._clock() + NAME_TTL_SECONDS, name)
        return name

    async def _person(self, team_id: str, user_id: str) -> str:
        client = await self._workspaces.client(team_id)
        if client is None:
            return UNKNOWN_PERSON
        try:
            user = (await client.users_info(user=user_id))["user"]
        except (SlackApiError, SlackClientError, KeyError, TypeError, OSError):
            return UNKNOWN_PERSON
        profile = user.get("profile") or {}
        for name in (profile.get("display_name"), profile.get("real_name"),
                     user.get("real_name"), user.get("name")):
            if isinstance(name, str) and name.strip():
                return name.strip()[:80]
        return UNKNOWN_PERSON

    async def _workspace(self, team_id: str, _: str) -> str:
        client = await self._workspaces.client(team_id)
        if client is None:
            return UNKNOWN_WORKSPACE
        try:
            name = (await client.auth_test()).get("team")
        except (SlackApiError, SlackClientError, TypeError, OSError):
            return UNKNOWN_WORKSPACE
        return name.strip()[:80] if isinstance(name, str) and name.strip() else UNKNOWN_WORKSPACE
