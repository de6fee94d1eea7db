"""Who can receive a secret: people, not bots, apps or deactivated accounts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ValidationFailed
from bot.slack.calls import SLACK_FAILURES

SLACKBOT = "USLACKBOT"  # users.info reports Slackbot as is_bot false; it is not a person.


@dataclass(frozen=True)
class _Entry:
    refusal: str | None  # None: a person
    until: float


class PersonCache:
    """A short-lived, per-process memo of users.info verdicts (safe to lose or diverge)."""

    def __init__(self, *, ttl_seconds: float = 600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}

    def get(self, team_id: str, user_id: str) -> _Entry | None:
        entry = self._entries.get((team_id, user_id))
        if entry and entry.until > self._clock():
            return entry
        return None

    def put(self, team_id: str, user_id: str, refusal: str | None) -> None:
        if len(self._entries) > 50_000:  # bounded: drop everything rather than grow
            self._entries.clear()
        self._entries[(team_id, user_id)] = _Entry(refusal, self._clock() + self._ttl)


class SlackPeople:
    """A PeopleDirectory backed by users.info for one workspace."""

    def __init__(self, client: AsyncWebClient, *, team_id: str, cache: PersonCache) -> None:
        self._client = client
        self._team_id = team_id
        self._cache = cache

    async def not_people(self, user_ids: tuple[str, ...]) -> Mapping[str, str]:
        verdicts = await asyncio.gather(*(self._refusal(u) for u in user_ids))
        return {u: why for u, why in zip(user_ids, verdicts, strict=True) if why}

    async def _refusal(self, user_id: str) -> str | None:
        cached = self._cache.get(self._team_id, user_id)
        if cached:
            return cached.refusal
        try:
            user = (await self._client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                return "an unknown user"
            raise _cannot_check() from None
        except SLACK_FAILURES:
            raise _cannot_check() from None
        name = user.get("name") or user_id
        if user_id == SLACKBOT or user.get("is_bot"):
            refusal: str | None = f"{name} (a bot)"
        elif user.get("deleted"):
            refusal = f"{name} (deactivated)"
        else:
            refusal = None
        self._cache.put(self._team_id, user_id, refusal)
        return refusal


def _cannot_check() -> ValidationFailed:
    return ValidationFailed({"recipients": "Couldn't check the recipients with Slack just now. "
                                           "Please try again."})

