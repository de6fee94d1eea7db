"""Slack recipients of an API secret, named by user id or email address: found through
the workspace's own client (bot.slack.people), each checked to be a person. A refusal
names each bad entry by its place in the list (`audience.slack_users.2`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.api.problems import refusal
from bot.errors import SlackUnreachable
from bot.render import api as words
from bot.slack.people import PersonCache, SlackPeople
from bot.workspaces.routes import Workspaces

FIELD = "audience.slack_users"


class WorkspaceRecipients:
    def __init__(self, workspaces: Workspaces, *, cache: PersonCache) -> None:
        self._workspaces = workspaces
        self._cache = cache

    async def resolve(self, team_id: str, entries: Sequence[str]) -> tuple[str, ...]:
        """Their user ids. ApiRefusal naming each entry that is nobody, a bot or a
        deactivated account; MissingScope without users:read.email for an address;
        SlackUnreachable when Slack cannot be asked."""
        client = await self._workspaces.client(team_id)
        if client is None:
            raise SlackUnreachable({FIELD: words.NOT_INSTALLED})
        people = SlackPeople(client, team_id=team_id, cache=self._cache)
        listed = [e.strip() for e in entries]
        resolved = await people.resolve(listed, field=FIELD)
        errors = [(listed.index(b.entry), b.detail) for b in resolved.bad]
        # Those named by id (an address's account was checked as it was looked up).
        named = tuple(u for u in resolved.user_ids if u in listed)
        refused = await people.not_people(named)
        errors += [(listed.index(user), why) for user, why in refused.items()]
        if errors:
            raise refusal("invalid-request", errors=[
                {"field": f"{FIELD}.{i}", "detail": detail} for i, detail in sorted(errors)])
        return resolved.user_ids
