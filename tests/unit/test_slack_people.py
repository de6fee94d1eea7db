"""Finding Slack people by user id or email address (bot.slack.people.SlackPeople.resolve),
against the Slack stand-in over real HTTP: addresses are looked up with
users.lookupByEmail a few at a time and remembered for a while; every entry that names
nobody comes back named, with why; a token without users:read.email is its own error,
and an address is never logged whole."""

from __future__ import annotations

import logging
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import MAX_RECIPIENTS
from bot.errors import MissingScope, ValidationFailed
from bot.slack.people import (
    LOOKUP_CONCURRENCY,
    MISS_TTL_SECONDS,
    EntryProblem,
    PersonCache,
    SlackPeople,
)
from devtools.harness.clock import FakeClock
from devtools.slack_stand_in import DEFAULT_SCOPES, SlackStandIn

TOKEN = "xoxb-test-token"
WITH_EMAIL = (*DEFAULT_SCOPES, "users:read.email")


@pytest.fixture
def slack():
    with SlackStandIn(TOKEN, team_id="T0ACME", team_domain="acme", scopes=WITH_EMAIL) as fake:
        fake.add_user("U0ALICE", "alice")
        fake.add_user("U0BOB", "bob", email="Bob@Vendor.example.com")
        fake.add_user("U0GONE", "gone", deleted=True)
        fake.add_user("U0APP", "app", is_bot=True, email="app@acme.example.com")
        yield fake


@pytest.fixture
def clock():
    return FakeClock(1000.0)


@pytest.fixture
def people(slack, clock):
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    return SlackPeople(client, team_id="T0ACME", cache=PersonCache(clock=clock))


def lookups(slack) -> list[str]:
    return [c.params["email"] for c in slack.calls_to("users.lookupByEmail")]


async def test_ids_pass_addresses_are_looked_up_each_person_once(people, slack):
    resolved = await people.resolve(["U0CAROL", "alice@acme.example.com",
                                     " bob@vendor.example.com ", "U0ALICE", "U0CAROL"])
    assert resolved.user_ids == ("U0CAROL", "U0ALICE", "U0BOB")
    assert resolved.bad == ()
    # Ids are checked by shape only here (not_people checks the account): no users.info.
    assert slack.calls_to("users.info") == []
    assert sorted(lookups(slack)) == ["alice@acme.example.com", "bob@vendor.example.com"]


async def test_each_entry_that_names_nobody_is_named_with_why(people):
    entries = ["U0ALICE", "not an address", "nobody@acme.example.com",
               "gone@acme.example.com", "app@acme.example.com", "<@U0BOB>"]
    resolved = await people.resolve(entries)
    assert resolved.user_ids == ("U0ALICE",)
    assert [(b.entry, b.problem) for b in resolved.bad] == [
        ("not an address", EntryProblem.MALFORMED),
        ("nobody@acme.example.com", EntryProblem.NOT_FOUND),
        ("gone@acme.example.com", EntryProblem.NOT_FOUND),  # deactivated: as Slack answers
        ("app@acme.example.com", EntryProblem.NOT_A_PERSON),
        ("<@U0BOB>", EntryProblem.MALFORMED),
    ]
    assert resolved.bad[3].detail == "app (a bot)"
    assert "nobody in this workspace" in resolved.bad[1].detail


async def test_found_people_need_no_users_info_afterwards(people, slack):
    """The lookup's answer says whether it is a person: the share's not_people check
    that follows costs no call."""
    resolved = await people.resolve(["alice@acme.example.com"])
    assert await people.not_people(resolved.user_ids) == {}
    assert slack.calls_to("users.info") == []


async def test_without_users_read_email_a_distinct_error_names_the_field(people, slack,
                                                                        caplog):
    """The default install lacks the scope: MissingScope, keyed by the caller's field,
    telling an admin what to add; the lookups not yet started are not made; the log names
    the address masked only, at any level."""
    slack.set_scopes(DEFAULT_SCOPES)
    addresses = [f"person{n}@acme.example.com" for n in range(3 * LOOKUP_CONCURRENCY)]
    with caplog.at_level(logging.DEBUG, logger="bot"), pytest.raises(MissingScope) as raised:
        await people.resolve(["U0ALICE", *addresses], field="to")
    assert raised.value.scope == "users:read.email"
    assert list(raised.value.errors) == ["to"]
    assert "users:read.email" in raised.value.errors["to"]
    assert "reinstall" in raised.value.errors["to"]
    assert isinstance(raised.value, ValidationFailed)
    assert 1 <= len(lookups(slack)) <= LOOKUP_CONCURRENCY
    # The bot's own logs, at every level (slack_sdk's, which echo parameters, are held at
    # WARNING by the bot: bot.telemetry.logs.quiet_libraries).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "missing_scope" in logged
    assert "@acme.example.com" in logged
    assert not any(a in logged for a in addresses)
    # Ids alone need no scope.
    assert (await people.resolve(["U0ALICE"])).user_ids == ("U0ALICE",)


@pytest.mark.parametrize("fault", ["internal_error", "ratelimited", "invalid_auth"])
async def test_other_slack_failures_are_cannot_check(people, slack, fault):
    if fault == "ratelimited":
        slack.rate_limit("users.lookupByEmail", retry_after=1, times=None)
    else:
        slack.fail("users.lookupByEmail", error=fault, times=None)
    with pytest.raises(ValidationFailed) as raised:
        await people.resolve(["alice@acme.example.com"], field="recipients")
    assert not isinstance(raised.value, MissingScope)
    assert "try again" in raised.value.errors["recipients"]


async def test_more_entries_than_recipients_are_refused_before_any_lookup(people, slack):
    with pytest.raises(ValidationFailed) as raised:
        await people.resolve([f"p{n}@acme.example.com" for n in range(MAX_RECIPIENTS + 1)])
    assert str(MAX_RECIPIENTS) in raised.value.errors["recipients"]
    assert lookups(slack) == []


async def test_addresses_are_remembered_and_a_miss_for_less_long(people, slack, clock):
    entries = ["alice@acme.example.com", "nobody@acme.example.com"]
    await people.resolve(entries)
    await people.resolve([e.upper() for e in entries])  # the same addresses
    assert len(lookups(slack)) == 2
    clock.advance(MISS_TTL_SECONDS + 1)
    await people.resolve(entries)
    assert lookups(slack)[2:] == ["nobody@acme.example.com"]  # asked again: someone may join


async def test_lookups_run_a_few_at_a_time(people, slack):
    """Tier 3: at most LOOKUP_CONCURRENCY lookups in flight, so 3 x that many addresses
    take at least three round trips."""
    slack.limit_rate("users.lookupByEmail", per_minute=None)
    for n in range(3 * LOOKUP_CONCURRENCY):
        slack.add_user(f"U0P{n:03d}", f"person{n}")
    slack.latency = 0.2
    started = time.monotonic()
    resolved = await people.resolve([f"person{n}@acme.example.com"
                                     for n in range(3 * LOOKUP_CONCURRENCY)])
    assert time.monotonic() - started >= 3 * 0.2
    assert len(resolved.user_ids) == 3 * LOOKUP_CONCURRENCY
