"""Who can receive a secret: people, not bots, apps or deactivated accounts; and who the
entries of a list (Slack user ids, or email addresses) are."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import MAX_RECIPIENTS, is_slack_user, masked_address
from bot.errors import MissingScope, SlackUnreachable, ValidationFailed
from bot.mail.address import plain_address
from bot.render import recipients as words
from bot.slack.calls import SLACK_FAILURES, failure_reason

SLACKBOT = "USLACKBOT"  # users.info reports Slackbot as is_bot false; it is not a person.
EMAIL_SCOPE = words.EMAIL_SCOPE  # what users.lookupByEmail needs
# users.lookupByEmail is Tier 3 (50+ a minute): a few lookups at a time, not a burst.
LOOKUP_CONCURRENCY = 4
# An address nobody has is asked again sooner than a found one (someone may join).
MISS_TTL_SECONDS = 60.0

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    refusal: str | None  # None: a person
    until: float


class PersonCache:
    """A short-lived, per-process memo of users.info verdicts and of whom addresses name
    (safe to lose or diverge)."""

    def __init__(self, *, ttl_seconds: float = 600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._addresses: dict[tuple[str, str], tuple[float, str | None]] = {}

    def get(self, team_id: str, user_id: str) -> _Entry | None:
        entry = self._entries.get((team_id, user_id))
        if entry and entry.until > self._clock():
            return entry
        return None

    def put(self, team_id: str, user_id: str, refusal: str | None) -> None:
        if len(self._entries) > 50_000:  # bounded: drop everything rather than grow
            self._entries.clear()
        self._entries[(team_id, user_id)] = _Entry(refusal, self._clock() + self._ttl)

    def address(self, team_id: str, address: str) -> tuple[bool, str | None]:
        """(known, the user id it names: None when nobody has it)."""
        known = self._addresses.get((team_id, address))
        if known is None or known[0] <= self._clock():
            return False, None
        return True, known[1]

    def put_address(self, team_id: str, address: str, user_id: str | None) -> None:
        if len(self._addresses) > 50_000:
            self._addresses.clear()
        ttl = self._ttl if user_id is not None else min(self._ttl, MISS_TTL_SECONDS)
        self._addresses[(team_id, address)] = (self._clock() + ttl, user_id)


class EntryProblem(enum.Enum):
    """Why an entry of a recipients list names nobody who can receive a secret."""

    MALFORMED = "malformed"  # neither a Slack user id nor an email address
    # No active member has this address: Slack answers the same for a deactivated one.
    NOT_FOUND = "not_found"
    NOT_A_PERSON = "not_a_person"  # a bot, an app or a deactivated account


@dataclass(frozen=True)
class BadEntry:
    """One entry that names nobody who can receive a secret, and why, in words for
    whoever gave it (`detail`)."""

    entry: str  # as given
    problem: EntryProblem
    detail: str


@dataclass(frozen=True)
class Resolved:
    """A recipients list, resolved: the people, and the entries that name nobody."""

    user_ids: tuple[str, ...]  # in the entries' order, each person once
    bad: tuple[BadEntry, ...] = ()


class SlackPeople:
    """A PeopleDirectory backed by users.info for one workspace; it also finds people
    by email address (users.lookupByEmail)."""

    def __init__(self, client: AsyncWebClient, *, team_id: str, cache: PersonCache) -> None:
        self._client = client
        self._team_id = team_id
        self._cache = cache

    async def not_people(self, user_ids: tuple[str, ...]) -> Mapping[str, str]:
        verdicts = await asyncio.gather(*(self._refusal(u) for u in user_ids))
        return {u: why for u, why in zip(user_ids, verdicts, strict=True) if why}

    async def resolve(self, entries: Sequence[str], *, field: str = "recipients") -> Resolved:
        """Slack user ids for `entries`: a user id passes as it is (checked by shape only:
        `not_people` checks the account), an email address is looked up
        (users.lookupByEmail, a few at a time, remembered for a while) and must name a
        person. Entries that name nobody come back in `bad`.

        Raises MissingScope (errors keyed by `field`) when an address is given and the
        token lacks users:read.email; ValidationFailed (keyed by `field`) when there are
        more entries than a secret's recipients, or Slack cannot be asked right now.
        """
        if len(entries) > MAX_RECIPIENTS:
            raise ValidationFailed({field: words.too_many_recipients(MAX_RECIPIENTS)})
        addresses = {a for a in (plain_address(e) for e in entries
                                 if not is_slack_user(e.strip())) if a is not None}
        found = await self._lookups(sorted(addresses), field)
        people: list[str] = []
        bad: list[BadEntry] = []
        for entry in entries:
            user_id: str | None
            problem: tuple[EntryProblem, str] | None
            if is_slack_user(entry.strip()):
                user_id, problem = entry.strip(), None
            else:
                user_id, problem = _found(plain_address(entry), found)
            if problem is not None:
                bad.append(BadEntry(entry, *problem))
            elif user_id is not None and user_id not in people:
                people.append(user_id)
        return Resolved(tuple(people), tuple(bad))

    async def _lookups(self, addresses: list[str], field: str
                       ) -> dict[str, tuple[str | None, str | None]]:
        """Each address's (user id or None, refusal or None), Tier 3's way. The first
        failure stops the lookups not yet started (a missing scope fails them all)."""
        slots = asyncio.Semaphore(LOOKUP_CONCURRENCY)
        failures: list[ValidationFailed] = []

        async def one(address: str) -> tuple[str | None, str | None]:
            try:
                known, user_id = self._cache.address(self._team_id, address)
                if not known:
                    async with slots:
                        if failures:
                            return None, None
                        user_id = await self._lookup(address, field)
                if user_id is None:
                    return None, None
                return user_id, await self._refusal(user_id, field)
            except ValidationFailed as exc:
                failures.append(exc)
                return None, None

        answers = await asyncio.gather(*(one(a) for a in addresses))
        if failures:
            raise next((f for f in failures if isinstance(f, MissingScope)), failures[0])
        return dict(zip(addresses, answers, strict=True))

    async def _lookup(self, address: str, field: str) -> str | None:
        """The user id Slack finds for an address (None: nobody), remembered; what Slack
        says of the account goes into the person cache too."""
        try:
            user = (await self._client.users_lookupByEmail(email=address))["user"]
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "users_not_found":
                self._cache.put_address(self._team_id, address, None)
                return None
            _logger.warning("could not look up %s: %s", masked_address(address),
                            failure_reason(exc))
            if error == "missing_scope":
                raise MissingScope({field: words.MISSING_EMAIL_SCOPE},
                                   scope=EMAIL_SCOPE) from None
            raise _cannot_check(field) from None
        except SLACK_FAILURES as exc:
            _logger.warning("could not look up %s: %s", masked_address(address),
                            failure_reason(exc))
            raise _cannot_check(field) from None
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not is_slack_user(user_id):
            raise _cannot_check(field)
        self._cache.put(self._team_id, user_id, _verdict(user_id, user, self._team_id))
        self._cache.put_address(self._team_id, address, user_id)
        return user_id

    async def _refusal(self, user_id: str, field: str = "recipients") -> str | None:
        cached = self._cache.get(self._team_id, user_id)
        if cached:
            return cached.refusal
        try:
            user = (await self._client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                return words.UNKNOWN_USER
            raise _cannot_check(field) from None
        except SLACK_FAILURES:
            raise _cannot_check(field) from None
        refusal = _verdict(user_id, user, self._team_id)
        self._cache.put(self._team_id, user_id, refusal)
        return refusal


def _found(address: str | None, found: Mapping[str, tuple[str | None, str | None]]
           ) -> tuple[str | None, tuple[EntryProblem, str] | None]:
    """An address entry's person, or what is wrong with it."""
    if address is None:
        return None, (EntryProblem.MALFORMED, words.NOT_A_RECIPIENT)
    user_id, refusal = found[address]
    if user_id is None:
        return None, (EntryProblem.NOT_FOUND, words.NO_SUCH_ADDRESS)
    if refusal is not None:
        return None, (EntryProblem.NOT_A_PERSON, refusal)
    return user_id, None


def _verdict(user_id: str, user: dict[str, Any], team_id: str) -> str | None:
    """Why this account cannot receive a secret (None: a person of `team_id`). Someone
    Slack Connect shows from another organisation (another team_id, or is_stranger) is
    not one: secrets for people outside go by link or email, under the workspace's
    policy. In an Enterprise Grid, a member of several workspaces lists them."""
    name = user.get("name") or user_id
    if user_id == SLACKBOT or user.get("is_bot"):
        return words.a_bot(name)
    if user.get("deleted"):
        return words.deactivated(name)
    grid = user.get("enterprise_user")
    teams = grid.get("teams") if isinstance(grid, dict) else None
    member = user.get("team_id") == team_id or (isinstance(teams, list) and team_id in teams)
    if user.get("is_stranger") or not member:
        return words.outside(name)
    return None


def _cannot_check(field: str = "recipients") -> ValidationFailed:
    return SlackUnreachable({field: words.CANNOT_CHECK})

