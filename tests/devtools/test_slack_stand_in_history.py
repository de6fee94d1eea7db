"""The stand-in's message metadata and conversations.history, driven by slack_sdk."""

from __future__ import annotations

import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devtools.slack_stand_in import DEFAULT_SCOPES, SlackStandIn

TOKEN = "xoxb-history"
META = {"event_type": "share_secret_audit", "event_payload": {"batch": "b1"}}


@pytest.fixture
def slack():
    scopes = (*DEFAULT_SCOPES, "channels:history", "groups:history")
    with SlackStandIn(TOKEN, scopes=scopes) as stand_in:
        stand_in.add_user("U0ALICE", "alice")
        stand_in.add_user("U0OTHERBOT", "otherbot", is_bot=True)
        stand_in.add_channel("C0AUDIT", "audit", members=["U0ALICE"])
        stand_in.add_channel("G0AUDIT", "private-audit", members=["U0ALICE"])
        stand_in.add_channel("C0OUT", "outside", members=["U0ALICE"], bot_is_member=False)
        stand_in.add_channel("G0OUT", "private-outside", bot_is_member=False)
        yield stand_in


@pytest.fixture
def client(slack):
    return WebClient(token=TOKEN, base_url=slack.base_url)


def test_metadata_is_stored_and_listed_only_when_asked_for(slack, client):
    """A post's metadata comes back from conversations.history with
    include_all_metadata, and not without it; newest message first."""
    first = client.chat_postMessage(channel="C0AUDIT", text="one", metadata=META)
    second = client.chat_postMessage(channel="C0AUDIT", text="two")
    assert first["message"]["metadata"] == META
    plain = client.conversations_history(channel="C0AUDIT")
    assert [m["ts"] for m in plain["messages"]] == [second["ts"], first["ts"]]
    assert all("metadata" not in m for m in plain["messages"])
    rich = client.conversations_history(channel="C0AUDIT", include_all_metadata=True)
    assert rich["messages"][1]["metadata"] == META
    assert rich["messages"][1]["bot_id"] == slack.bot_id
    assert rich["has_more"] is False


def test_malformed_metadata_is_refused(client):
    """Metadata must be an object with an event_type and an event_payload object."""
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C0AUDIT", text="x", metadata={"event_type": "x"})
    assert refused.value.response["error"] == "invalid_metadata_schema"


def test_oldest_latest_inclusive_limit_and_cursor_paging(slack, client):
    """oldest/latest bound the page (exclusive unless inclusive); limit and the cursor
    page through older messages until has_more is false."""
    stamps = [client.chat_postMessage(channel="C0AUDIT", text=f"m{n}")["ts"]
              for n in range(7)]
    slack.post_as_user("C0AUDIT", "U0ALICE", "a human line")
    between = client.conversations_history(channel="C0AUDIT", oldest=stamps[1],
                                           latest=stamps[4])
    assert [m["text"] for m in between["messages"]] == ["m3", "m2"]
    both = client.conversations_history(channel="C0AUDIT", oldest=stamps[1],
                                        latest=stamps[4], inclusive=True)
    assert [m["text"] for m in both["messages"]] == ["m4", "m3", "m2", "m1"]
    seen, cursor = [], None
    while True:
        page = client.conversations_history(channel="C0AUDIT", limit=3, cursor=cursor,
                                            oldest=stamps[0])
        seen += [m["text"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == ["a human line", "m6", "m5", "m4", "m3", "m2", "m1"]
    with pytest.raises(SlackApiError) as bad:
        client.conversations_history(channel="C0AUDIT", cursor="not-a-cursor")
    assert bad.value.response["error"] == "invalid_cursor"


@pytest.mark.parametrize(("channel", "scopes", "error"), [
    ("C0AUDIT", DEFAULT_SCOPES, "missing_scope"),  # public: needs channels:history
    ("G0AUDIT", (*DEFAULT_SCOPES, "channels:history"), "missing_scope"),  # groups:history
    ("C0OUT", (*DEFAULT_SCOPES, "channels:history"), "not_in_channel"),
    ("G0OUT", (*DEFAULT_SCOPES, "groups:history"), "channel_not_found"),
    ("C0NOPE", (*DEFAULT_SCOPES, "channels:history"), "channel_not_found"),
])
def test_refusals_follow_scopes_and_membership(channel, scopes, error):
    """A bot token reads only conversations it is in, with the scope of their kind."""
    with SlackStandIn(TOKEN, scopes=scopes) as slack:
        slack.add_user("U0ALICE", "alice")
        slack.add_channel("C0AUDIT", "audit", members=["U0ALICE"])
        slack.add_channel("G0AUDIT", "private-audit", members=["U0ALICE"])
        slack.add_channel("C0OUT", "outside", bot_is_member=False)
        slack.add_channel("G0OUT", "private-outside", bot_is_member=False)
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=TOKEN, base_url=slack.base_url).conversations_history(
                channel=channel)
        assert refused.value.response["error"] == error
        if error == "missing_scope":
            assert refused.value.response["needed"] == (
                "groups:history" if channel.startswith("G") else "channels:history")


def test_held_answer_takes_effect_at_once_and_answers_when_released(slack, client):
    """hold_answers: the post is stored and recorded at once; the caller hears only
    after release_answers."""
    slack.hold_answers("chat.postMessage")
    answers = []
    caller = threading.Thread(target=lambda: answers.append(
        client.chat_postMessage(channel="C0AUDIT", text="held")))
    caller.start()
    [call] = slack.wait_for("chat.postMessage")
    assert call.ok
    assert [m.text for m in slack.messages("C0AUDIT")] == ["held"]
    time.sleep(0.2)
    assert answers == []
    slack.release_answers()
    caller.join(timeout=5)
    assert answers
    assert answers[0]["ok"]
    client.chat_postMessage(channel="C0AUDIT", text="not held")  # answers at once
