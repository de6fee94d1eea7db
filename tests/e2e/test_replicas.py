"""Several replicas on one Redis: two real bot processes, A and B, share nothing but
Redis (and Slack), and behave as one bot: a secret shared through one is revealed
through the other, a single view is shown once whichever replicas the clicks reach,
each expiry is handled once, and each audit event is posted once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import redis

from bot import render
from bot.storage import connect
from bot.storage.audit_stream import AuditStream
from devtools.harness.bot_process import BotProcess
from devtools.harness.expiry import make_due
from devtools.harness.redis_server import PersistentRedis
from devtools.harness.slack_client import SlackSim
from tests.conftest import (
    ALICE,
    AUDIT_CHANNEL,
    BOB,
    CAROL,
    GENERAL,
    SIGNING_SECRET,
    bot_env,
    populate,
    wait_until,
)

pytestmark = pytest.mark.e2e


@dataclass
class Pair:
    """Two replicas on one Redis, each with a SlackSim that sends to it."""

    a: BotProcess
    b: BotProcess
    sim_a: SlackSim
    sim_b: SlackSim
    redis: redis.Redis
    url: str


@pytest.fixture
def pair(slack, tmp_path) -> Iterator[Pair]:
    slack.reset()
    populate(slack)
    with PersistentRedis(tmp_path / "redis") as server:
        env = bot_env(slack, server.url, SWEEP_INTERVAL_SECONDS="0.2")
        a = BotProcess(env, workdir=tmp_path / "a")
        b = BotProcess(env, workdir=tmp_path / "b")
        for bot in (a, b):
            bot.workdir.mkdir()
        client = redis.Redis.from_url(server.url)
        try:
            a.start()
            # A holds the audit delivery lease before B starts, so that a test can stop
            # the holder and watch B take over.
            wait_until(lambda: client.exists("ss:{audit}:lease"), what="A's lease")
            b.start()
            yield Pair(a, b, SlackSim(bot=a, slack=slack, signing_secret=SIGNING_SECRET),
                       SlackSim(bot=b, slack=slack, signing_secret=SIGNING_SECRET),
                       client, server.url)
        finally:
            a.stop()
            b.stop()
            client.close()
    slack.reset()


def share(sim: SlackSim, recipients: list[str], secret: str, **fields: str) -> None:
    view = sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
    reply = sim.submit(ALICE, view, recipients=recipients, secret=secret, **fields)
    assert (reply.status, reply.body) == (200, b"")


def shows(view: dict, secret: str) -> bool:
    return secret in json.dumps(view)


def stream_events(url: str) -> list:
    """Every audit event in the stream, oldest first, as the bot reads them."""
    async def read() -> list:
        client = connect(url)
        try:
            return await AuditStream(client, prefix="ss", retention_seconds=86400).between(
                count=100_000)
        finally:
            await client.aclose()
    return asyncio.run(read())


def posted_audit_lines(slack) -> list[str]:
    return [line for call in slack.calls_to("chat.postMessage")
            if call.ok and call.params.get("channel") == AUDIT_CHANNEL
            for line in call.params["text"].split("\n")]


def test_shared_through_one_replica_revealed_through_the_other(pair, slack):
    """Alice shares through A; Bob's click reaches B, which shows the secret; his second
    click, reaching A, finds it gone."""
    share(pair.sim_a, [BOB], "across-replicas-1")
    message, button = pair.sim_b.reveal_prompt(BOB)
    first = pair.sim_b.click(BOB, message, button)
    assert first.status == 200
    assert shows(pair.sim_b.shown_view(first.trigger_id), "across-replicas-1")
    # Once B has recorded the view (until then a click is a double click, left unanswered):
    slack.wait_for("response_url", where=lambda c: "You revealed" in json.dumps(c.params))
    again = pair.sim_a.click(BOB, message, button)
    view = pair.sim_a.shown_view(again.trigger_id)
    assert not shows(view, "across-replicas-1")
    assert "no longer available" in json.dumps(view)


def test_concurrent_clicks_across_replicas_reveal_a_single_view_once(pair, slack):
    """One view shared by Bob and Carol; twelve simultaneous clicks by both, half to A and
    half to B: exactly one shows the secret, the rest are told it is gone."""
    share(pair.sim_a, [BOB, CAROL], "only-once-anywhere", views="total", total_views="1")
    prompts = {user: pair.sim_a.reveal_prompt(user) for user in (BOB, CAROL)}
    plan = [(sim, user) for sim in (pair.sim_a, pair.sim_b) for user in (BOB, CAROL)] * 3
    start = threading.Barrier(len(plan))

    def click(sim: SlackSim, user: str):
        start.wait()
        return sim.click(user, *prompts[user])

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        replies = list(pool.map(lambda p: click(*p), plan))
    assert [r.status for r in replies] == [200] * len(plan)
    slack.wait_for("response_url", where=lambda c: "You revealed" in json.dumps(c.params))
    time.sleep(0.5)  # every other click has had its answer by now
    triggers = {r.trigger_id for r in replies}
    views = [json.dumps(c.params["view"]) for c in slack.calls_to("views.open")
             if c.params.get("trigger_id") in triggers]
    assert sum("only-once-anywhere" in v for v in views) == 1
    # The others are told it is gone, but for a click by the person whose view is being
    # shown at that moment: a double click, left unanswered.
    refused = [v for v in views if "only-once-anywhere" not in v]
    assert all("no longer available" in v for v in refused)
    assert len(refused) >= len(plan) // 2 - 1  # every click by the other person at least
    events = Counter(e.action.value for e in stream_events(pair.url))
    assert (events["secret_opened"], events["secret_burned"]) == (1, 1)
    assert not list(pair.redis.scan_iter("ss:{*}:c"))  # burned: no ciphertext left


def test_both_sweeps_expire_each_secret_once(pair, slack):
    """Ten secrets shared through both replicas fall due at once while both sweep every
    0.2 s: each is expired once (one audit event, one notice to its sender)."""
    for n in range(10):
        share(pair.sim_a if n % 2 else pair.sim_b, [BOB], f"due-{n}")

    def created() -> set[str | None]:  # recorded just after each share's answer
        return {e.code for e in stream_events(pair.url) if e.action.value == "secret_created"}

    wait_until(lambda: len(created()) == 10, what="the shares' secret_created")
    codes = created()
    make_due(pair.redis)
    wait_until(lambda: not pair.redis.zcard("ss:expiries"), what="the sweeps")
    time.sleep(1.0)  # both have swept several times since
    expired = [e.code for e in stream_events(pair.url) if e.action.value == "secret_expired"]
    assert sorted(expired) == sorted(codes)
    told = [c for c in slack.calls_to("chat.postMessage")
            if c.ok and "expired unread" in c.params.get("text", "")]
    assert sorted(c.params["text"] for c in told) == sorted(set(c.params["text"] for c in told))
    assert len(told) == 10


def test_the_audit_log_is_posted_once_across_replicas_even_when_one_stops(pair, slack):
    """Events recorded by both replicas reach the audit channel once each, in order, also
    when the replica holding the delivery lease stops and the other takes over."""
    for n in range(3):
        share(pair.sim_a, [BOB], f"audited-a-{n}")
        share(pair.sim_b, [CAROL], f"audited-b-{n}")
    wait_until(lambda: len(posted_audit_lines(slack)) >= 6, what="the first posts")
    pair.a.stop()  # the lease holder: it gives the lease back as it stops
    assert pair.a.returncode == 0
    for n in range(3):
        share(pair.sim_b, [BOB], f"audited-after-{n}")
    wait_until(lambda: len(posted_audit_lines(slack)) >= 9, what="the later posts")
    time.sleep(1.0)  # time enough for a duplicate to show up
    expected = [render.audit_line(e) for e in stream_events(pair.url)]
    assert len(expected) == 9
    assert posted_audit_lines(slack) == expected
