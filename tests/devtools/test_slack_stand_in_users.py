"""users.lookupByEmail and addresses in users.info, as Slack documents them
(https://docs.slack.dev/reference/methods/users.lookupByEmail): the users:read.email
scope, users_not_found for an unknown or deactivated address, Tier 3, and
invalid_arguments without an address. Driven by the real slack_sdk clients."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devtools.harness.clock import FakeClock
from devtools.slack_stand_in import DEFAULT_SCOPES, SlackStandIn

TOKEN = "xoxb-test-token"
WITH_EMAIL = (*DEFAULT_SCOPES, "users:read.email")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture(params=["threads", "asyncio"])
def slack(clock: FakeClock, request: pytest.FixtureRequest):
    with SlackStandIn(TOKEN, team_domain="acme", scopes=WITH_EMAIL, clock=clock,
                      transport=request.param) as stand_in:
        stand_in.add_user("U0ALICE", "alice")
        stand_in.add_user("U0BOB", "bob", email="Bob.Builder@Vendor.example.com")
        stand_in.add_user("U0DAVE", "dave", deleted=True)
        stand_in.add_user("U0HOOK", "hook", is_bot=True)
        yield stand_in


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url)


def answer_of(call) -> dict:
    """Run a client call that must fail; return Slack's whole answer."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return {"status": raised.value.response.status_code, **raised.value.response.data}


def test_an_address_finds_its_member_whatever_its_case(slack, client):
    """A person's default address is name@<team domain>.example.com; one given is kept as
    given, and found in any case. The answer is the user object, with the address."""
    alice = client.users_lookupByEmail(email="alice@acme.example.com")["user"]
    assert (alice["id"], alice["name"], alice["profile"]["email"]) == (
        "U0ALICE", "alice", "alice@acme.example.com")
    assert (alice["is_bot"], alice["deleted"]) == (False, False)
    bob = client.users_lookupByEmail(email="bob.builder@vendor.EXAMPLE.com")["user"]
    assert (bob["id"], bob["profile"]["email"]) == ("U0BOB", "Bob.Builder@Vendor.example.com")


def test_the_sdk_asks_with_get_and_query_arguments(slack, client):
    """slack_sdk sends users.lookupByEmail as a GET (http_verb="GET"); the stand-in reads
    its query string, as it does for users.info."""
    client.users_lookupByEmail(email="alice@acme.example.com")
    call = slack.calls_to("users.lookupByEmail")[0]
    assert call.params == {"email": "alice@acme.example.com"}
    assert call.ok


async def test_the_async_client_is_answered_too(slack):
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
    found = await client.users_lookupByEmail(email="alice@acme.example.com")
    assert found["user"]["id"] == "U0ALICE"


def test_unknown_and_deactivated_addresses_are_users_not_found(slack, client):
    """The method page: a deactivated member's address answers users_not_found, as an
    address nobody has does. Bots have no address, so none is found by one."""
    for address in ("nobody@acme.example.com", "dave@acme.example.com",
                    "hook@acme.example.com"):
        assert answer_of(lambda a=address: client.users_lookupByEmail(email=a)) == {
            "status": 200, "ok": False, "error": "users_not_found"}


def test_a_bot_given_an_address_is_answered_as_a_bot(slack, client):
    """Should Slack ever answer a bot user for an address, the user object says is_bot:
    the caller must still refuse it."""
    slack.add_user("U0APP", "app", is_bot=True, email="app@acme.example.com")
    found = client.users_lookupByEmail(email="app@acme.example.com")["user"]
    assert (found["id"], found["is_bot"]) == ("U0APP", True)


def test_without_an_address_the_arguments_are_invalid(slack, client):
    answer = answer_of(lambda: client.api_call("users.lookupByEmail", http_verb="GET",
                                               params={}))
    assert (answer["error"], answer["response_metadata"]["messages"]) == (
        "invalid_arguments", ["[ERROR] missing required field: email"])


def test_without_users_read_email_it_is_missing_scope(slack, client):
    """The default install lacks users:read.email: missing_scope naming it, and users.info
    leaves profile.email out (the scope's page); granting it later works at once."""
    slack.set_scopes(DEFAULT_SCOPES)
    assert answer_of(lambda: client.users_lookupByEmail(email="alice@acme.example.com")) == {
        "status": 200, "ok": False, "error": "missing_scope", "needed": "users:read.email",
        "provided": ",".join(DEFAULT_SCOPES)}
    assert "email" not in client.users_info(user="U0ALICE")["user"]["profile"]
    slack.set_scopes(WITH_EMAIL)
    assert slack.scopes == WITH_EMAIL
    assert client.users_info(user="U0ALICE")["user"]["profile"]["email"] == \
        "alice@acme.example.com"
    assert client.users_lookupByEmail(email="alice@acme.example.com")["ok"]


def test_tier_3_allows_fifty_a_minute_then_429_with_retry_after(slack, client, clock):
    """Tier 3 ("50+ per minute"): the stand-in allows the documented floor per workspace
    and method; past it, HTTP 429 ratelimited with Retry-After until the oldest call
    leaves the minute. Other methods are not counted."""
    for n in range(50):
        clock.advance(0.5)
        if n % 2:  # a miss counts as a call too
            answer_of(lambda: client.users_lookupByEmail(email="nobody@acme.example.com"))
        else:
            client.users_lookupByEmail(email="alice@acme.example.com")
    with pytest.raises(SlackApiError) as raised:
        client.users_lookupByEmail(email="alice@acme.example.com")
    response = raised.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    # The first call was at 1000.5, now is 1025: it leaves the minute 35.5 s from now.
    assert response.headers["Retry-After"] == "36"
    assert client.users_info(user="U0ALICE")["ok"]  # another method: not counted
    clock.advance(36)
    assert client.users_lookupByEmail(email="alice@acme.example.com")["ok"]


def test_a_test_may_lower_or_lift_the_limit(slack, client):
    slack.limit_rate("users.lookupByEmail", per_minute=2)
    for _ in range(2):
        client.users_lookupByEmail(email="alice@acme.example.com")
    assert answer_of(lambda: client.users_lookupByEmail(email="alice@acme.example.com"))[
        "status"] == 429
    slack.limit_rate("users.lookupByEmail", per_minute=None)
    for _ in range(60):
        client.users_lookupByEmail(email="alice@acme.example.com")
    slack.limit_rate("users.lookupByEmail", per_minute=50)
    slack.reset()  # forgets the calls counted, keeps the limit
    assert client.users_lookupByEmail(email="alice@acme.example.com")["ok"]
