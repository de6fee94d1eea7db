"""Receipts of a secret whose sender is an API token, through the bot itself: the real
ASGI app over real HTTP, the Slack stand-in, real Redis, a clock the tests move.

The secret is stored as the HTTP API stores one (SharingService, its sender an API
principal, `receipts_to` set or not) on the bot's own store; the bot's sweep then delivers
what nobody delivered, Bob reveals it by clicking, and it expires: each receipt goes to
the channel or person the secret names, or nowhere, and the audit channel hears of all.
"""

from __future__ import annotations

import pytest

from bot.domain import SecretRecord, ShareForm, api_principal
from bot.secrets.sharing import SharingService
from tests.conftest import ALICE, AUDIT_CHANNEL, BOB, CAROL, audit_lines, keyring_of_test_keys

pytestmark = pytest.mark.e2e

SECRET = "deploy-key: correct horse battery staple"
DEPLOY = api_principal("tok9", "deploy-bot")
RECEIPTS = "C0RECEIPTS"
ORPHANED = 121  # seconds after which the sweep delivers what no process did (claim timeout)


class NoPeopleCheck:
    """The API checks its recipients itself (SlackPeople.resolve); Bob is a person."""

    async def not_people(self, user_ids):
        return {}


def api_share(live, **changes) -> SecretRecord:
    """Store a secret as the HTTP API does, on the bot's own store and clock."""
    service = SharingService(store=live.runtime.store, keyring=keyring_of_test_keys(),
                             clock=live.clock)
    form = ShareForm(team_id="T0ACME", sender_id=DEPLOY, recipients=(BOB,), text=SECRET,
                     expiry_seconds="3600", label="deploy key", **changes)
    return live.call(service.share(form, people=NoPeopleCheck()))


def deliver(live, clock) -> None:
    """The bot's sweep sends the Reveal messages and the receipt nobody sent."""
    clock.advance(ORPHANED)
    live.call(live.runtime.sweeper.run_once())


def sent(slack) -> list[tuple[str, str]]:
    """(channel, text) of every message posted, outside the audit channel and Bob's DM."""
    return [(slack.landed_in(c), c.params.get("text", ""))
            for c in slack.calls_to("chat.postMessage") + slack.calls_to("chat.postEphemeral")
            if c.ok and slack.landed_in(c) not in (AUDIT_CHANNEL, slack.dm_of(BOB))]


def reveal(sim, slack) -> None:
    message, button = sim.reveal_prompt(BOB)
    assert "API token *deploy-bot* shared" in message.text
    shown = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert SECRET in str(shown)
    slack.wait_for("response_url")  # Bob's message updated: after_reveal is under way


@pytest.fixture
def receipts_channel(sim, slack):
    slack.add_channel(RECEIPTS, "deploy-receipts", members=[ALICE])
    return RECEIPTS


def test_a_receipts_channel_hears_of_creation_views_and_expiry(sim, slack, live, clock,
                                                               receipts_channel):
    api_share(live, receipts_to=receipts_channel)
    deliver(live, clock)
    created = slack.wait_for("chat.postMessage",
                             where=lambda c: c.params["channel"] == RECEIPTS)[0]
    assert created.params["text"].startswith(
        "For API token *deploy-bot*: :white_check_mark: Your secret *deploy key*")
    reveal(sim, slack)
    viewed = slack.wait_for("chat.postMessage", count=2,
                            where=lambda c: c.params["channel"] == RECEIPTS)[1]
    assert f"<@{BOB}> viewed *deploy key*" in viewed.params["text"]
    unread = api_share(live, receipts_to=receipts_channel)
    deliver(live, clock)
    clock.advance(3600)
    assert live.call(live.runtime.sweeper.run_once()) == 1
    expired = slack.wait_for("chat.postMessage", count=4,
                             where=lambda c: c.params["channel"] == RECEIPTS)[3]
    assert f"*{unread.label}* (`{unread.code}`) expired unread" in expired.params["text"]
    assert {c for c, _ in sent(slack)} == {RECEIPTS}
    assert_never_a_person(slack)
    lines = audit_lines(slack, 5)
    assert sum("API token *deploy-bot*" in line for line in lines) >= 2


def test_a_receipts_person_hears_by_dm(sim, slack, live, clock):
    api_share(live, receipts_to=CAROL)
    deliver(live, clock)
    reveal(sim, slack)
    texts = lambda: [t for c, t in sent(slack) if c == slack.dm_of(CAROL)]  # noqa: E731
    slack.wait_for("chat.postMessage", count=2,
                   where=lambda c: slack.landed_in(c) == slack.dm_of(CAROL))
    assert "Your secret *deploy key* was shared with" in texts()[0]
    assert f"<@{BOB}> viewed *deploy key*" in texts()[1]
    assert {c for c, _ in sent(slack)} == {slack.dm_of(CAROL)}


def test_without_a_destination_only_the_audit_channel_hears(sim, slack, live, clock):
    record = api_share(live)
    deliver(live, clock)
    reveal(sim, slack)
    lines = audit_lines(slack, 2)
    assert any("Secret opened" in line and record.code in line for line in lines)
    api_share(live)  # left unread
    deliver(live, clock)
    clock.advance(3600)
    assert live.call(live.runtime.sweeper.run_once()) == 1
    assert "Secret expired" in audit_lines(slack, 5)[-1]
    assert sent(slack) == []
    assert_never_a_person(slack)


def assert_never_a_person(slack) -> None:
    """Nothing treated the token as a person: no DM, no users.info, no Home tab."""
    assert all(DEPLOY not in str(c.params) for c in slack.calls_to("users.info")
               + slack.calls_to("conversations.open") + slack.calls_to("views.publish"))
