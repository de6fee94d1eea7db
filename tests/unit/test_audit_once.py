"""The audit outbox across a crash: a batch Slack accepted is never posted twice.

Real bot processes, a real Redis, the Slack stand-in. The first bot is SIGKILLed after
the stand-in accepted its audit post but before the bot heard so (the answer held, or
lost); a second bot takes over the delivery lease, finds the batch in the channel's
history by its metadata, and moves on without posting it again. Without a history
scope it cannot tell, so it posts the batch again, visibly marked, and counts it.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from bot.render.audit import MAY_REPEAT
from bot.storage import connect
from bot.storage.audit_stream import AuditStream
from devtools.harness.bot_process import BotProcess
from devtools.slack_stand_in import DEFAULT_SCOPES, SlackStandIn
from tests.conftest import BOT_TOKEN, METRICS_AUTH, bot_env, populate, wait_until
from tests.unit.test_audit_outbox import delivered, event

# Its own key prefix: a bot other tests left running on this Redis (the session's) holds
# the "ss" outbox lease and must not take part.
PREFIX = "once"
LEASE, PENDING = f"{PREFIX}:{{audit}}:lease", f"{PREFIX}:{{audit}}:pending"
SEQ = re.compile(r"\(seq (\d+)\)")


@pytest.fixture(scope="module")
def readable_slack():
    """A workspace whose bot may read the audit channel's history (channels:history)."""
    with SlackStandIn(bot_token=BOT_TOKEN, team_id="T0ACME", team_domain="acme",
                      scopes=(*DEFAULT_SCOPES, "channels:history")) as stand_in:
        populate(stand_in)
        yield stand_in


def env(slack: SlackStandIn, redis_url: str) -> dict[str, str]:
    return bot_env(slack, redis_url, REDIS_KEY_PREFIX=PREFIX)


def bot(slack: SlackStandIn, redis_url: str, workdir: Path) -> BotProcess:
    workdir.mkdir()
    return BotProcess(env(slack, redis_url), workdir=workdir).start()


def append(redis_url: str, numbers: range) -> None:
    async def go() -> None:
        client = connect(redis_url)
        stream = AuditStream(client, prefix=PREFIX, retention_seconds=86400)
        for n in numbers:
            await stream.append(event(n))
        await client.aclose()
    asyncio.run(go())


def crash_after_accepted_post(slack: SlackStandIn, redis_url: str, redis_sync,
                              workdir: Path, *, fault: str) -> BotProcess:
    """Bot one posts the first batch; Slack stores it; the bot is killed before it hears
    so. Returns bot two, started once the first one's lease ran out."""
    slack.reset()
    populate(slack)
    append(redis_url, range(10))
    if fault == "held":
        slack.hold_answers("chat.postMessage")
    else:
        slack.lose_answers("chat.postMessage")
    first = bot(slack, redis_url, workdir / "one")
    try:
        slack.wait_for("chat.postMessage", timeout=20)
        first.kill()
    finally:
        first.stop()
        slack.release_answers()
    assert delivered(slack) == list(range(10))  # Slack has the batch...
    assert redis_sync.hget(PENDING, "last") is not None  # ...the cursor did not move
    # The dead holder's lease would run out within 30 s; the test does not wait for it.
    redis_sync.pexpire(LEASE, 1)
    return bot(slack, redis_url, workdir / "two")


@pytest.mark.parametrize("fault", ["held", "lost"])
def test_a_takeover_after_a_kill_posts_each_event_exactly_once(
        readable_slack, redis_url, redis_sync, tmp_path, fault):
    """Killed after Slack accepted the post (its answer held back, or lost): the next
    bot finds the batch in the channel's history and does not post it again; later
    events follow, each once, in order."""
    slack = readable_slack
    second = crash_after_accepted_post(slack, redis_url, redis_sync, tmp_path, fault=fault)
    try:
        append(redis_url, range(10, 20))
        wait_until(lambda: len(delivered(slack)) >= 20, timeout=40)
        time.sleep(1.0)
        assert delivered(slack) == list(range(20))
        looked = slack.calls_to("conversations.history")
        assert looked
        assert looked[0].ok
        assert looked[0].params.get("include_all_metadata") in ("1", "true", True)
        assert redis_sync.exists(PENDING) == 0
        assert all(MAY_REPEAT not in str(c.params) for c in slack.calls_to("chat.postMessage"))
        posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
        assert all(c.params["metadata"]["event_type"] == "share_secret_audit" for c in posts)
    finally:
        second.stop()


def test_without_history_scope_a_repeat_is_marked_and_counted(
        slack, redis_url, redis_sync, tmp_path):
    """The bot cannot read the channel (no channels:history): the batch whose post may
    have arrived is posted again, marked as a possible repeat, and counted in /metrics;
    nothing is lost, and later batches are not marked."""
    second = crash_after_accepted_post(slack, redis_url, redis_sync, tmp_path, fault="held")
    try:
        append(redis_url, range(10, 15))
        wait_until(lambda: len(delivered(slack)) >= 25, timeout=40)
        time.sleep(1.0)
        assert delivered(slack) == [*range(10), *range(10), *range(10, 15)]
        [refused] = slack.calls_to("conversations.history")
        assert refused.response["error"] == "missing_scope"
        posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
        first, again, *later = posts
        assert "blocks" not in first.params
        assert again.params["blocks"][-1]["elements"][0]["text"] == MAY_REPEAT
        assert again.params["text"] == first.params["text"]  # the same lines, once more
        assert again.params["metadata"] == first.params["metadata"]
        assert later
        assert all("blocks" not in c.params for c in later)
        status, body = second.request("GET", "/metrics", headers=METRICS_AUTH)
        assert status == 200
        assert 'share_secret_audit_posts_in_doubt_total{outcome="unverified"} 1.0' \
            in body.decode()
    finally:
        second.stop()
