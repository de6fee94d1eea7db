"""Rate limits on sharing and reveal attempts: the window in Redis, and the service."""

from __future__ import annotations

import asyncio

import pytest

from bot import render
from bot.config import load_settings
from bot.domain import AuditAction, AuditEvent, RevealOutcome, ShareForm, Status, ViewState
from bot.errors import ConfigError, RateLimited
from bot.secrets.limits import Action, Rate, RateLimits, duration, parse_rate
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, connect
from bot.storage.rate_counter import RedisRateCounter
from devtools.harness.clock import FakeClock
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS, stored_secrets

START = 1_800_000_000.0  # the tests' clocks start at this Unix time


class People:
    async def not_people(self, user_ids):
        return {u: f"{u.lower()} (a bot)" for u in user_ids if u.startswith("B")}


@pytest.fixture
async def counter(redis_url, redis_sync):
    client = connect(redis_url)
    yield RedisRateCounter(client, keys=KeySpace("ss"))
    await client.aclose()


THREE_A_MINUTE = Rate(3, 60)


def limits(counter, clock, *, share=THREE_A_MINUTE, reveal=THREE_A_MINUTE) -> RateLimits:
    return RateLimits(counter, share=share, reveal=reveal, clock=clock)


async def take(limiter, action=Action.SHARE, team="T1", user="U1"):
    await limiter.take(action, team_id=team, user_id=user)


@pytest.mark.parametrize(("text", "expected"), [
    ("30/600", Rate(30, 600)), (" 5 / 10 ", Rate(5, 10)), ("off", None), ("0", None),
    ("OFF", None),
])
def test_parse_rate(text, expected):
    """COUNT/SECONDS parses; off (or 0) means no limit."""
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["30", "30/", "a/b", "0/600", "30/0", "30/100000", "-1/5"])
def test_parse_rate_refuses_nonsense(text):
    """Malformed or out-of-range rates are refused."""
    with pytest.raises(ValueError, match=r"COUNT/SECONDS|count of"):
        parse_rate(text)


def test_settings_name_a_bad_limit_without_quoting_it():
    """A bad SHARE_LIMIT stops start-up with a message naming the variable."""
    with pytest.raises(ConfigError, match="SHARE_LIMIT must be COUNT/SECONDS"):
        load_settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                      slack_signing_secret=SIGNING_SECRET, encryption_keys=TEST_KEYS,
                      share_limit="lots")
    settings = load_settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                             slack_signing_secret=SIGNING_SECRET, encryption_keys=TEST_KEYS)
    assert (settings.share_rate, settings.reveal_rate, settings.request_rate) == (
        Rate(30, 600), Rate(60, 600), Rate(10, 600))
    with pytest.raises(ConfigError, match="REQUEST_LIMIT must be COUNT/SECONDS"):
        load_settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                      slack_signing_secret=SIGNING_SECRET, encryption_keys=TEST_KEYS,
                      request_limit="many")


@pytest.mark.parametrize(("seconds", "words"), [
    (0.2, "1 second"), (45, "45 seconds"), (61, "2 minutes"), (600, "10 minutes"),
    (3601, "2 hours"),
])
def test_duration_rounds_up(seconds, words):
    """Waits are said in words and never shorter than they are."""
    assert duration(seconds) == words


async def test_window_slides_and_says_when_to_retry(counter):
    """Three in a minute pass; the fourth is refused with the wait until the oldest leaves
    the window; then exactly one more passes."""
    clock = FakeClock(START)
    limiter = limits(counter, clock)
    for step in (0, 10, 20):
        clock.now += step and 10
        await take(limiter)
    clock.now += 5  # 25 s after the first
    with pytest.raises(RateLimited) as caught:
        await take(limiter)
    assert caught.value.retry_after == 35
    assert (caught.value.limit, caught.value.window) == (3, 60)
    clock.now += 35
    await take(limiter)
    with pytest.raises(RateLimited) as again:
        await take(limiter)
    assert again.value.retry_after == 10  # the second attempt leaves next


async def test_refused_attempts_are_not_counted(counter):
    """Hammering while refused does not extend the wait."""
    clock = FakeClock(START)
    limiter = limits(counter, clock)
    for _ in range(3):
        await take(limiter)
    for _ in range(20):
        clock.now += 1
        with pytest.raises(RateLimited):
            await take(limiter)
    clock.now += 41  # 61 s after the three
    await take(limiter)


async def test_counts_are_per_action_workspace_and_person(counter):
    """Another person, the same person in another workspace, or another action each have
    their own window."""
    limiter = limits(counter, FakeClock(START))
    for _ in range(3):
        await take(limiter)
    with pytest.raises(RateLimited):
        await take(limiter)
    await take(limiter, user="U2")
    await take(limiter, team="T2")
    await take(limiter, action=Action.REVEAL)


async def test_one_count_across_replicas_and_exact_under_concurrency(redis_url, counter):
    """Two limiters on their own connections (two replicas) share one count, and of 40
    simultaneous attempts exactly the limit pass."""
    other_client = connect(redis_url)
    try:
        clock = FakeClock(START)
        replicas = [limits(counter, clock, share=Rate(10, 60)),
                    limits(RedisRateCounter(other_client, keys=KeySpace("ss")), clock,
                           share=Rate(10, 60))]
        results = await asyncio.gather(*(take(replicas[i % 2]) for i in range(40)),
                                       return_exceptions=True)
    finally:
        await other_client.aclose()
    assert sum(r is None for r in results) == 10
    assert all(isinstance(r, RateLimited) for r in results if r is not None)


async def test_ensure_room_counts_nothing(counter):
    """Looking (before a form is filled in) does not use up an attempt."""
    limiter = limits(counter, FakeClock(START))
    for _ in range(10):
        await limiter.ensure_room(Action.SHARE, team_id="T1", user_id="U1")
    for _ in range(3):
        await take(limiter)
    with pytest.raises(RateLimited):
        await limiter.ensure_room(Action.SHARE, team_id="T1", user_id="U1")


async def test_a_lowered_limit_waits_for_enough_attempts_to_leave(counter):
    """With more attempts in the window than a (newly lowered) limit, the wait is until
    enough of them have left, not just the oldest."""
    clock = FakeClock(START)
    for _ in range(5):
        await take(limits(counter, clock, share=Rate(5, 60)))
        clock.now += 10
    # Attempts at 0, 10, 20, 30 and 40; now 50. Under a limit of 2 one more is allowed
    # once only one is left: the one at 30 leaves at 90, in 40 s (the oldest in 10 s).
    with pytest.raises(RateLimited) as caught:
        await take(limits(counter, clock, share=Rate(2, 60)))
    assert caught.value.retry_after == 40


async def test_no_limit_when_off(counter):
    """A limit set to off never refuses."""
    limiter = limits(counter, FakeClock(START), share=None)
    for _ in range(50):
        await take(limiter)


def form(**changes) -> ShareForm:
    values = {"team_id": "T1", "sender_id": "UALICE", "recipients": ("UBOB",),
              "text": "s3cret", "expiry_seconds": "3600"}
    values.update(changes)
    return ShareForm(**values)


async def test_share_past_the_limit_stores_nothing(store, counter, keyring, redis_sync):
    """Invalid forms cost nothing; past the limit a valid share raises RateLimited and
    nothing more is stored."""
    clock = FakeClock(START)
    service = SharingService(store=store, keyring=keyring, clock=clock,
                             limits=limits(counter, clock, share=Rate(2, 600)))
    for bad in (form(text=""), form(recipients=("BDEPLOY",))):
        with pytest.raises(Exception, match="invalid input"):
            await service.share(bad, people=People())
    await service.share(form(), people=People())
    await service.share(form(), people=People())
    before = sorted(stored_secrets(redis_sync))
    with pytest.raises(RateLimited) as caught:
        await service.share(form(), people=People())
    assert caught.value.retry_after == 600
    assert sorted(stored_secrets(redis_sync)) == before
    with pytest.raises(RateLimited):
        await service.ensure_room_to_share(team_id="T1", user_id="UALICE")
    await service.ensure_room_to_share(team_id="T1", user_id="UCAROL")


async def test_reveal_past_the_limit_claims_nothing(store, counter, keyring):
    """A limited reveal is refused before the claim: the view is not used, the secret is
    not touched, and once the window has passed it reveals."""
    clock = FakeClock(START)
    service = SharingService(store=store, keyring=keyring, clock=clock,
                             limits=limits(counter, clock, reveal=Rate(2, 60)))
    record = await service.share(form(), people=People())
    shown: list[str] = []

    async def show(plaintext, claim):
        shown.append(plaintext)

    async def reveal(user="UBOB"):
        return await service.reveal(secret_id=record.secret_id, user_id=user, team_id="T1",
                                    show=show)

    assert (await reveal("UEVE")).outcome is RevealOutcome.NOT_RECIPIENT
    assert (await reveal("UEVE")).outcome is RevealOutcome.NOT_RECIPIENT
    limited = await reveal("UEVE")
    assert limited.outcome is RevealOutcome.RATE_LIMITED
    assert limited.limited.retry_after == 60
    assert limited.code is None  # learns nothing about the secret
    for _ in range(2):
        await service.reveal(secret_id="2" * 12 + "A" * 16, user_id="UBOB", team_id="T1",
                             show=show)
    assert (await reveal()).outcome is RevealOutcome.RATE_LIMITED
    after = await store.get(record.secret_id)
    assert after.status is Status.ACTIVE
    assert after.views == {"UBOB": ViewState.PENDING}
    assert shown == []
    clock.now += 61
    assert (await reveal()).outcome is RevealOutcome.REVEALED
    assert shown == ["s3cret"]


def test_messages_and_audit_line_say_the_limit_and_the_wait():
    """The person is told the limit and when to retry; the audit line names who and
    which limit."""
    share = RateLimited("share", retry_after=250, limit=30, window=600)
    reveal = RateLimited("reveal", retry_after=40, limit=60, window=600)
    assert render.share_limited(share) == (
        "You've shared (or tried to share) 30 secrets in the last 10 minutes, the most "
        "allowed. Nothing was shared: please try again in 5 minutes.")
    assert render.share_limited_notice(share)["response_type"] == "ephemeral"
    modal = str(render.reveal_limited_modal(reveal))
    assert "60 times in the last 10 minutes" in modal
    assert "try again in 40 seconds" in modal
    line = render.audit_line(AuditEvent(AuditAction.RATE_LIMITED, at=0, actor="U0EVE",
                                        team_id="T1", detail=render.limited_detail(reveal)))
    assert line.startswith(":hourglass: *Rate limit reached* by <@U0EVE>")
    assert "reveal attempts: limit 60 per 10 minutes; next allowed in 40 seconds" in line
