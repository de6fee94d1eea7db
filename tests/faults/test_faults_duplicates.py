"""Deliveries Slack repeats, through the real bot over HTTP with signed requests: a form
submitted twice, an Events API retry, a replayed Reveal click. Each counts once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ALICE, BOB, GENERAL, audit_lines, settle

pytestmark = pytest.mark.e2e

SECRET = "duplicate-canary-91c2"


def secrets_stored(redis_sync) -> int:
    return sum(1 for _ in redis_sync.scan_iter(match="ss:{*}:m"))


def filled_form(sim, **fields):
    """Alice's share form, filled in for Bob, as the payload Slack would send."""
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    return sim.submission(ALICE, view, recipients=[BOB], secret=SECRET, **fields)


def created_lines(slack) -> list[str]:
    settle(slack)
    return [line for line in audit_lines(slack, 1) if "Secret created" in line]


def test_a_form_submitted_twice_shares_once(sim, slack, redis_sync):
    """The same view_submission delivered twice (a proxy retry) stores one secret, sends
    one Reveal message and audits one creation; both answers close the form."""
    payload = filled_form(sim)
    first = sim.interaction(payload)
    second = sim.interaction(payload)
    assert (first.status, first.body) == (200, b"")
    assert (second.status, second.body) == (200, b"")
    settle(slack)
    assert secrets_stored(redis_sync) == 1
    assert len(sim.find_prompts(BOB)) == 1
    assert len(created_lines(slack)) == 1


def test_concurrent_double_submissions_share_once(sim, slack, redis_sync):
    """Eight copies of one submission at the same instant (a double click, retries) make
    one secret and one set of Reveal messages; every answer is a sensible one."""
    payload = filled_form(sim)
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: sim.interaction(payload), range(8)))
    assert all(r.status == 200 for r in replies)
    assert all(r.body == b"" or "busy" in r.body.decode() for r in replies)
    settle(slack)
    assert secrets_stored(redis_sync) == 1
    assert len(sim.find_prompts(BOB)) == 1
    assert len(created_lines(slack)) == 1


def test_the_form_can_be_sent_again_after_an_error(sim, slack, redis_sync):
    """A submission refused for bad input leaves no mark: the corrected form (same view)
    is shared."""
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    refused = sim.submit(ALICE, view, recipients=[BOB], secret="   ")
    assert refused.json()["response_action"] == "errors"
    accepted = sim.submit(ALICE, view, recipients=[BOB], secret=SECRET)
    assert accepted.body == b""
    assert sim.reveal_prompt(BOB)
    assert secrets_stored(redis_sync) == 1


def test_an_events_api_retry_is_handled_once(sim, slack):
    """app_home_opened delivered again with X-Slack-Retry-Num (same event id) is
    acknowledged and not handled a second time."""
    body = json.dumps(sim.home_opened(ALICE)).encode()
    first = sim.post(body, content_type="application/json")
    retry = sim.post(body, content_type="application/json",
                     extra_headers={"X-Slack-Retry-Num": "1",
                                    "X-Slack-Retry-Reason": "http_timeout"})
    assert (first.status, retry.status) == (200, 200)
    settle(slack)
    assert len(slack.calls_to("views.publish")) == 1
    other = sim.open_home(ALICE)  # a new opening (new event id) is handled
    assert other.status == 200
    slack.wait_for("views.publish", count=2)


def test_a_replayed_reveal_click_reveals_nothing_more(sim, slack):
    """The same click payload sent again (same trigger id and action_ts) does nothing, even
    for a secret that may be viewed without limit; a new click still reveals."""
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    assert sim.submit(ALICE, view, recipients=[BOB], secret=SECRET,
                      views="unlimited").body == b""
    message, button = sim.reveal_prompt(BOB)
    payload = sim.block_action(BOB, message, button)
    assert sim.interaction(payload).status == 200
    assert SECRET in json.dumps(sim.shown_view(payload["trigger_id"]))
    slack.wait_for("response_url")
    assert sim.interaction(payload).status == 200
    settle(slack)
    assert len(slack.calls_to("views.open", )) == 2  # the form, then the one reveal
    assert len(slack.calls_to("response_url")) == 1  # no "click again" for the replay
    opened = [line for line in audit_lines(slack, 2) if "Secret opened" in line]
    assert len(opened) == 1
    fresh = sim.click(BOB, message, button)
    assert SECRET in json.dumps(sim.shown_view(fresh.trigger_id))
