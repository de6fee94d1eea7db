"""DMs cost one Slack call once the bot knows the conversation: the DM channel of each
person is remembered (bounded, aging out), and forgotten when Slack says it no longer
works. Real HTTP to the Slack stand-in."""

from __future__ import annotations

import logging
import secrets

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import Delivery
from bot.slack.dm_channels import DmChannels
from devtools.harness.clock import FakeClock
from tests.conftest import ALICE, BOB, BOT_TOKEN, GENERAL, populate, settle

MESSAGE = {"text": "hello"}


@pytest.fixture
def fresh_slack(slack):
    slack.reset()
    populate(slack)
    return slack


def delivery(slack, dms: DmChannels) -> Delivery:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    return Delivery(client, logger=logging.getLogger("test"), dm_channels=dms)


def opens(slack) -> int:
    return len(slack.calls_to("conversations.open"))


async def test_a_second_dm_to_the_same_person_opens_no_conversation(fresh_slack):
    """Two DMs to Bob, through two deliveries sharing the memory: conversations.open
    once, both messages in his DM."""
    dms = DmChannels()
    first = await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    second = await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    assert first is not None
    assert second is not None
    assert first[0] == second[0]
    assert first[0].startswith("D")
    assert opens(fresh_slack) == 1
    assert len(fresh_slack.calls_to("chat.postMessage")) == 2
    assert await delivery(fresh_slack, dms).dm(ALICE, MESSAGE)
    assert opens(fresh_slack) == 2  # per person


async def test_a_dm_slack_no_longer_knows_is_forgotten_and_opened_again(fresh_slack):
    """A remembered DM Slack answers channel_not_found for: opened again once, the
    message lands there, and the new channel is remembered."""
    dms = DmChannels()
    dms.put(BOT_TOKEN, BOB, "D0NOTTHERE")
    where = await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    assert where is not None
    assert where[0] != "D0NOTTHERE"
    posts = fresh_slack.calls_to("chat.postMessage")
    assert [c.params["channel"] for c in posts] == ["D0NOTTHERE", where[0]]
    assert opens(fresh_slack) == 1
    assert dms.get(BOT_TOKEN, BOB) == where[0]


@pytest.mark.parametrize("error", ["is_archived", "not_in_channel", "channel_not_found"])
async def test_each_stale_answer_makes_the_dm_open_again(fresh_slack, error):
    """is_archived, not_in_channel and channel_not_found on a remembered DM: opened again."""
    dms = DmChannels()
    assert await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    fresh_slack.fail("chat.postMessage", error=error, times=1)
    assert await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    assert opens(fresh_slack) == 2
    assert len(fresh_slack.calls_to("chat.postMessage")) == 3


async def test_a_fresh_dm_that_fails_is_not_opened_again_and_again(fresh_slack):
    """Slack refuses the DM it just opened: one open, no loop; the DM is reported failed."""
    dms = DmChannels()
    fresh_slack.fail("chat.postMessage", error="channel_not_found", times=None)
    assert await delivery(fresh_slack, dms).dm(BOB, MESSAGE) is None
    assert opens(fresh_slack) == 1
    # Remembered from the open; its next use fails once more and opens once more.
    assert await delivery(fresh_slack, dms).dm(BOB, MESSAGE) is None
    assert opens(fresh_slack) == 2


async def test_other_errors_keep_the_remembered_dm(fresh_slack):
    """An answer that says nothing about the channel (msg_too_long) opens nothing again."""
    dms = DmChannels()
    known = await delivery(fresh_slack, dms).dm(BOB, MESSAGE)
    fresh_slack.fail("chat.postMessage", error="msg_too_long", times=1)
    assert await delivery(fresh_slack, dms).dm(BOB, MESSAGE) is None
    assert opens(fresh_slack) == 1
    assert known is not None
    assert dms.get(BOT_TOKEN, BOB) == known[0]


def test_entries_are_per_token_bounded_and_age_out():
    """Another workspace's token does not see the entry; the least recently used goes
    first past the size; an entry past its age is gone."""
    clock = FakeClock(1000.0)
    dms = DmChannels(size=2, ttl_seconds=60, clock=clock)
    dms.put("xoxb-a", BOB, "D1")
    assert dms.get("xoxb-b", BOB) is None
    dms.put("xoxb-a", ALICE, "D2")
    assert dms.get("xoxb-a", BOB) == "D1"  # now the most recently used
    dms.put("xoxb-a", "U0CAROL", "D3")
    assert (dms.get("xoxb-a", ALICE), dms.get("xoxb-a", BOB)) == (None, "D1")
    clock.now += 61
    assert dms.get("xoxb-a", BOB) is None
    assert len(dms) == 1


def test_forget_leaves_a_renewed_entry():
    """Forgetting the channel that failed does not drop a newer one put meanwhile."""
    dms = DmChannels()
    dms.put("xoxb-a", BOB, "D2")
    dms.forget("xoxb-a", BOB, "D1")
    assert dms.get("xoxb-a", BOB) == "D2"
    dms.forget("xoxb-a", BOB, "D2")
    assert dms.get("xoxb-a", BOB) is None


@pytest.mark.e2e
def test_the_bot_opens_a_persons_dm_once(sim, slack):
    """Two secrets for someone outside the channel: two Reveal DMs, one conversations.open
    (the running bot remembers the DM)."""
    newcomer = f"U0NEW{secrets.token_hex(4).upper()}"
    slack.add_user(newcomer, "newcomer")
    for _ in range(2):
        command = sim.slash_command(ALICE, GENERAL)
        view = sim.opened_view(command.trigger_id)
        assert sim.submit(ALICE, view, recipients=[newcomer], secret="dm-once").body == b""
        settle(slack)
    assert len(sim.find_prompts(newcomer)) == 2
    assert len([c for c in slack.calls_to("conversations.open")
                if c.params.get("users") == newcomer]) == 1
