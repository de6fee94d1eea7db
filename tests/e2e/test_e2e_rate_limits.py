"""End to end: rate limits in two real bot processes sharing one Redis, over HTTP."""

from __future__ import annotations

import json
import re
import time

import pytest

from bot.storage import KeySpace
from tests.conftest import (
    ALICE,
    BOB,
    EVE,
    GENERAL,
    METRICS_AUTH,
    audit_lines,
    bots_with,
    settle,
    sim_for,
)

pytestmark = pytest.mark.e2e

# Seconds: short, so the test can wait for the window to pass; long enough that a loaded
# machine still makes the attempts below within one window.
REVEAL_WINDOW = 8


@pytest.fixture(scope="module")
def replicas(slack, redis_url, tmp_path_factory):
    """Two bot processes with small limits: 2 shares per 10 minutes, 3 reveal attempts per
    REVEAL_WINDOW seconds."""
    workdirs = [tmp_path_factory.mktemp(f"limited{i}") for i in range(2)]
    with bots_with(slack, redis_url, workdirs, SHARE_LIMIT="2/600",
                   REVEAL_ATTEMPT_LIMIT=f"3/{REVEAL_WINDOW}") as bots:
        yield bots


@pytest.fixture
def sims(replicas, slack, redis_sync):
    yield [sim_for(bot, slack) for bot in replicas]
    settle(slack)


def ciphertexts(redis_sync) -> list[bytes]:
    return list(redis_sync.scan_iter(match="ss:{*}:c"))


def prompts(sim, count: int, timeout: float = 5.0):
    """Bob's Reveal messages, once `count` of them have arrived."""
    deadline = time.monotonic() + timeout
    while len(found := sim.find_prompts(BOB)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def share_via(sim, secret: str):
    command = sim.slash_command(ALICE, GENERAL)
    assert command.status == 200
    assert command.body == b""
    reply = sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB],
                       secret=secret)
    assert reply.status == 200
    return reply


def test_sharing_past_the_limit_is_refused_across_replicas(sims, slack, redis_sync):
    """Two shares (one through each replica) pass; the third, through either, is refused
    with when to retry, stores nothing, sends nothing, and is audited."""
    first, second = sims
    # A form opened while there was still room: submitted after the limit is reached.
    early = first.slash_command(ALICE, GENERAL)
    early_form = first.opened_view(early.trigger_id)
    assert share_via(first, "secret one").body == b""
    assert share_via(second, "secret two").body == b""
    assert len(prompts(first, 2)) == 2

    command = second.slash_command(ALICE, GENERAL)
    answer = command.json()
    assert answer["response_type"] == "ephemeral"
    assert "You've shared (or tried to share) 2 secrets in the last 10 minutes" in answer["text"]
    assert "try again in 10 minutes" in answer["text"]
    assert not [c for c in slack.calls_to("views.open")
                if c.params.get("trigger_id") == command.trigger_id]

    refused = first.submit(ALICE, early_form, recipients=[BOB], secret="secret three").json()
    assert refused["response_action"] == "errors"
    assert "Nothing was shared" in refused["errors"]["secret"]
    assert len(ciphertexts(redis_sync)) == 2
    lines = audit_lines(slack, 4)
    limited = [line for line in lines if "Rate limit reached" in line]
    assert len(limited) == 2
    assert all(f"<@{ALICE}>" in line and "sharing: limit 2 per 10 minutes" in line
               for line in limited)
    settle(slack)
    assert len(first.find_prompts(BOB)) == 2


def test_reveal_attempts_past_the_limit_get_a_private_notice_and_use_nothing(
        sims, slack, redis_sync, replicas):
    """Past 3 attempts in the window a click gets a polite private notice and an audit
    line, and claims nothing: once the window has passed, the same click reveals."""
    first, second = sims
    share_via(first, "the first secret")
    share_via(first, "the second secret")
    (m1, b1), (m2, b2) = prompts(first, 2)

    # A stranger's clicks count against the stranger only.
    for _ in range(3):  # each answered before the next (replicas work in parallel)
        refused = first.click(EVE, m1, b1)
        assert "not shared with you" in json.dumps(first.shown_view(refused.trigger_id))
    eve = second.click(EVE, m1, b1)
    assert re.search(r"try again in [1-8] seconds?", json.dumps(first.shown_view(eve.trigger_id)))

    started = time.monotonic()
    shown = first.shown_view(first.click(BOB, m1, b1).trigger_id)
    assert "the first secret" in json.dumps(shown)
    slack.wait_for("response_url")  # the view is recorded (before this, a click is a repeat)
    for sim in (second, first):
        again = sim.click(BOB, m1, b1)
        assert "no longer available" in json.dumps(sim.shown_view(again.trigger_id))
    limited = second.click(BOB, m2, b2)
    notice = json.dumps(first.shown_view(limited.trigger_id))
    assert "You've tried to open secrets 3 times" in notice
    assert "Nothing was used up" in notice
    assert "the second secret" not in notice

    secret_id = b2["value"]
    meta = redis_sync.hgetall(KeySpace("ss").meta(secret_id))
    assert meta[f"r:{BOB}".encode()] == b"0"
    assert b"claims" not in meta or meta[b"claims"] == b"0"
    assert redis_sync.exists(KeySpace("ss").ciphertext(secret_id))
    # created 2, access denied 3, Eve limited, opened, burned, Bob limited
    lines = [line for line in audit_lines(slack, 9) if "Rate limit reached" in line]
    assert any(f"<@{EVE}>" in line and "reveal attempts: limit 3 per 8 seconds" in line
               for line in lines)
    assert any(f"<@{BOB}>" in line for line in lines)

    status, metrics = replicas[1].request("GET", "/metrics", headers=METRICS_AUTH)
    assert status == 200
    assert 'share_secret_reveals_denied_total{reason="rate_limited"} 2.0' in metrics.decode()

    time.sleep(max(0.0, REVEAL_WINDOW + 0.2 - (time.monotonic() - started)))
    later = second.click(BOB, m2, b2)
    assert "the second secret" in json.dumps(first.shown_view(later.trigger_id))
