"""Slack failing while the real bot delivers Reveal messages: errors, 429 with
Retry-After, timeouts. Passing failures are retried within Slack's limits; whoever still
cannot be reached is named to the sender, who can retry or revoke; and no secret is left
without a way to reach or revoke it."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from tests.conftest import ALICE, BOB, GENERAL, settle

pytestmark = pytest.mark.e2e

SECRET = "delivery-canary-5d0e"


@pytest.fixture
def newcomer(sim, slack):
    """Someone outside #general the bot has never written to: reaching them takes
    conversations.open (the bot remembers the DMs it opened, Carol's included)."""
    user = f"U0NEW{secrets.token_hex(4).upper()}"
    slack.add_user(user, f"newcomer-{user[-4:].lower()}")
    return user


def share(sim, recipients):
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    assert sim.submit(ALICE, view, recipients=recipients, secret=SECRET).body == b""


def receipt(sim, slack, timeout=15.0):
    """Alice's private receipt (the latest), and its buttons by action id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in slack.messages() if m.ephemeral_to == ALICE and not m.deleted
                 and any(e.get("action_id") == "revoke_secret"
                         for b in m.blocks or [] if b.get("type") == "actions"
                         for e in b.get("elements", []))]
        if found:
            message = found[-1]
            buttons = {e["action_id"]: {**e, "block_id": b.get("block_id")}
                       for b in message.blocks if b.get("type") == "actions"
                       for e in b.get("elements", [])}
            return message, buttons
        time.sleep(0.05)
    raise AssertionError("no receipt reached Alice")


def reveals(sim, user) -> bool:
    message, button = sim.reveal_prompt(user)
    click = sim.click(user, message, button)
    return SECRET in json.dumps(sim.shown_view(click.trigger_id))


def test_rate_limits_are_waited_out_as_slack_asks(sim, slack):
    """Two 429s with Retry-After: 1 on the Reveal message: the bot waits a second each
    time, then delivers; the sender sees no failure."""
    slack.rate_limit("chat.postEphemeral", retry_after=1, times=2)
    share(sim, [BOB])
    assert reveals(sim, BOB)
    calls = [c for c in slack.calls_to("chat.postEphemeral") if c.params["user"] == BOB]
    assert [c.status for c in calls] == [429, 429, 200]
    assert calls[1].at - calls[0].at >= 0.95
    assert calls[2].at - calls[1].at >= 0.95
    message, buttons = receipt(sim, slack)
    assert "Couldn't reach" not in message.text
    assert "retry_delivery" not in buttons


def test_passing_errors_and_timeouts_are_retried(sim, slack, newcomer):
    """A newcomer's DM: conversations.open answers internal_error, then chat.postMessage
    takes longer than the bot waits; both are retried and they get their Reveal message."""
    slack.fail("conversations.open", error="internal_error", times=1)
    slack.stall("chat.postMessage", seconds=5.5, times=1)
    share(sim, [newcomer])
    message, _ = sim.reveal_prompt(newcomer, timeout=15)
    assert message.channel.startswith("D")
    assert reveals(sim, newcomer)
    assert "Couldn't reach" not in receipt(sim, slack)[0].text


def test_retries_are_bounded_and_the_sender_is_told_who_was_missed(sim, slack, newcomer):
    """Slack keeps failing a newcomer's DM: the bot gives up after four tries, Bob still
    gets his, and the receipt names the newcomer (and only them) with Retry and Revoke."""
    slack.fail("conversations.open", error="internal_error", times=None)
    share(sim, [BOB, newcomer])
    message, buttons = receipt(sim, slack)
    assert f"Couldn't reach <@{newcomer}>" in message.text
    assert f"shared with <@{BOB}>" in message.text
    assert {"retry_delivery", "revoke_secret"} <= buttons.keys()
    assert len(slack.calls_to("conversations.open")) == 4
    assert reveals(sim, BOB)


def test_retry_sends_the_reveal_message_to_those_who_missed_it(sim, slack, newcomer):
    """A newcomer could not be reached; once Slack works again, Alice's Retry sends them
    their Reveal message (Bob gets no second one), the receipt is updated, and they reveal."""
    slack.fail("conversations.open", error="user_not_found", times=None)
    share(sim, [BOB, newcomer])
    message, buttons = receipt(sim, slack)
    assert f"Couldn't reach <@{newcomer}>" in message.text
    assert len(slack.calls_to("conversations.open")) == 1  # not a passing error
    slack.clear_faults()
    sim.click(ALICE, message, buttons["retry_delivery"])
    assert reveals(sim, newcomer)
    updated = slack.wait_for("response_url", where=lambda c: c.context["user_id"] == ALICE)[0]
    assert updated.params["replace_original"] is True
    assert "Couldn't reach" not in updated.params["text"]
    assert len(sim.find_prompts(BOB)) == 1


def test_retry_names_only_the_secrets_own_recipients(sim, slack, newcomer):
    """A Retry value edited to name someone else sends nothing to them."""
    slack.fail("conversations.open", error="user_not_found", times=1)
    share(sim, [newcomer])
    message, buttons = receipt(sim, slack)
    forged = {**buttons["retry_delivery"],
              "value": buttons["retry_delivery"]["value"] + f",{BOB}"}
    sim.click(ALICE, message, forged)
    assert reveals(sim, newcomer)
    settle(slack)
    assert sim.find_prompts(BOB) == []


def test_retry_after_a_revoke_sends_nothing(sim, slack, newcomer):
    """Once the sender revoked it, Retry says so and sends nothing."""
    slack.fail("conversations.open", error="user_not_found", times=1)
    share(sim, [newcomer])
    message, buttons = receipt(sim, slack)
    code = message.text.split("Share code: `")[1][:14]
    sim.slash_command(ALICE, GENERAL, f"revoke {code}")
    sim.click(ALICE, message, buttons["retry_delivery"])
    told = slack.wait_for("response_url", where=lambda c: "no longer active" in
                          c.params.get("text", ""))[0]
    assert told.params["replace_original"] is False
    settle(slack)
    assert sim.find_prompts(newcomer) == []


def test_a_secret_nobody_could_be_told_about_can_still_be_found_and_revoked(sim, slack):
    """Slack refuses every message (recipients' and the sender's receipt): the secret is
    still in Alice's list and Home tab, each with Revoke, and revoking works."""
    slack.fail("chat.postEphemeral", error="internal_error", times=None)
    slack.fail("conversations.open", error="internal_error", times=None)
    share(sim, [BOB])
    settle(slack, quiet=0.5, timeout=30)
    assert not [m for m in slack.messages() if m.ephemeral_to in (ALICE, BOB)]
    slack.clear_faults()
    listed = sim.slash_command(ALICE, GENERAL, "list").json()
    revoke = [e for b in listed["blocks"] for e in [b.get("accessory") or {}]
              if e.get("action_id") == "revoke_secret"]
    assert len(revoke) == 1
    sim.open_home(ALICE)
    home = slack.wait_for("views.publish")[0].params["view"]
    assert "revoke_secret" in json.dumps(home)
    code = json.dumps(listed).split("`")[1] if "`" in json.dumps(listed) else None
    assert code
    sim.slash_command(ALICE, GENERAL, f"revoke {code}")
    listed_after = json.dumps(sim.slash_command(ALICE, GENERAL, "list").json())
    assert "revoked" in listed_after
