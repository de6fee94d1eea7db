"""The benchmark's own machinery (benchmarks/): parsing, signing, matching, targets.

Cheap and not timing-based: the benchmark itself runs with `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from benchmarks import payloads, report, stats
from benchmarks.load import Source, parse_response, sign
from bot.web import inbound


def test_parse_response_reads_content_length_and_waits_for_the_whole_body() -> None:
    """A response is complete only once Content-Length bytes of body are in."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert parse_response(raw[:-1]) is None
    assert parse_response(raw + b"HTTP/1.1") == (200, b"hello", len(raw))


def test_parse_response_reads_chunked_bodies() -> None:
    """uvicorn chunks answers that carry no length; chunks are joined."""
    raw = (b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert parse_response(raw[:-2]) is None
    assert parse_response(raw) == (401, b"abcde", len(raw))


def test_requests_are_signed_as_slack_signs_them() -> None:
    """The load generator's signature verifies with the Slack SDK's verifier."""
    body = b"payload=%7B%7D"
    verifier = SignatureVerifier("s3cret", clock=type("C", (), {"now": lambda self: 1700000000})())
    assert verifier.is_valid(body, "1700000000", sign(b"s3cret", "1700000000", body))


def test_templates_become_slack_shaped_payloads() -> None:
    """Placeholders survive URL-encoding and are replaced by the request's values."""
    source = Source({"kind": "view_submission", "signing_secret": "x",
                     "template": payloads.share_submission(team_id="T1", channel="C1"),
                     "sender_prefix": "U0S", "recipients": ["U0R1", "U0R2"]})
    prepared = source._build(None, 7, trigger="1.2.abc", response_url="http://x/y")
    payload = json.loads(parse_qs(prepared.body.decode())["payload"][0])
    assert payload["user"]["id"] == "U0S0000007"
    values = payload["view"]["state"]["values"]
    assert values["recipients"]["users"]["selected_users"] == ["U0R1", "U0R2"]
    assert prepared.key == "U0S0000007"
    # Every submission is a form of its own (the bot counts a repeated view id once).
    again = source._build(None, 7, trigger="1.2.abd", response_url="http://x/y")
    view_id = payload["view"]["id"]
    assert view_id.startswith("V")
    assert view_id != json.loads(parse_qs(again.body.decode())["payload"][0])["view"]["id"]
    assert inbound.read(prepared.body.decode(),
                        {"content-type": ["application/x-www-form-urlencoded"]})


def test_end_to_end_matches_modals_by_trigger_and_counts_notices_as_refused() -> None:
    """A click counts as shown only when its trigger opened the modal it asked for."""
    load = {"records": [["t1", 100.0, 0.001, 200], ["t2", 100.0, 0.001, 200],
                        ["t3", 100.0, 0.001, 200]]}
    calls = [["views.open", 100.05, True, None, "t1", None, None, "Your secret | From"],
             ["views.open", 100.10, True, None, "t2", None, None, "Share-secret | :warning:"]]
    figures = stats.end_to_end_views(load, calls, title="Your secret")
    assert figures["delivered"] == 1
    assert figures["missing"] == 1
    assert sum(figures["refused"].values()) == 1
    assert figures["e2e_p50_ms"] == 50.0


def test_targets_compare_against_the_faster_peer_serving() -> None:
    """The reveal ratio (secrets shown per second) is taken against snappass's better
    serving at that level."""
    results = {"bot": {"0ms": {"reveal": {"1": {"throughput": 900.0, "delivered": 1500,
                                                "window_s": 5.0}}}},
               "snappass": {"a": {"reveal": {"1": {"throughput": 100.0}}},
                            "b": {"reveal": {"1": {"throughput": 250.0}}}}}
    [check] = [t for t in report.targets(results) if "vs snappass reveal" in t["name"]]
    assert check["passed"] is False
    assert "250" in check["measured"]


def test_the_least_app_bounds_name_the_ratio_each_target_asks_for() -> None:
    """The bound lines set the least app's completed work per second (not its acks)
    against snappass's better serving and the framework floor, and say what the bot
    reaches of it."""
    results = {"least": {"reveal": {"16": {"delivered": 6000, "window_s": 5.0,
                                           "ack_p99_ms": 40.0, "throughput": 2000.0}}},
               "snappass": {"a": {"reveal": {"16": {"throughput": 1000.0}}},
                            "b": {"reveal": {"16": {"throughput": 800.0}}}},
               "floor": {"block_actions": {"16": {"throughput": 4000.0}}},
               "bot": {"0ms": {"reveal": {"16": {"delivered": 1800, "window_s": 5.0}}}}}
    [line] = report.least_bounds(results)
    assert line.startswith("reveal @16: 1200 done/s, ack p99 40 ms")
    assert "1.20x snappass reveal (a;" in line
    assert "0.30x the framework floor" in line
    assert "the bot does 0.30x of it" in line


@contextmanager
def served(module: str, slack, **env: str) -> Iterator[str]:
    """`python -m <module>` started as the benchmark starts it; yields its base URL once
    /readyz answers 200."""
    from port_for import get_port

    from tests.conftest import BOT_TOKEN, SIGNING_SECRET

    port = get_port(None)
    proc = subprocess.Popen([sys.executable, "-m", module], env={
        **os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url, "PORT": str(port), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1) as ready:
                    assert ready.status == 200
                    break
            except (OSError, ValueError):
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, f"{module} did not become ready"
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def post_signed(base: str, body: bytes) -> int:
    from tests.conftest import SIGNING_SECRET

    timestamp = str(int(time.time()))
    request = urllib.request.Request(f"{base}/slack/events", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(SIGNING_SECRET.encode(), timestamp, body)})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return int(answer.status)


def click(user: str, trigger: str, secret_id: str) -> bytes:
    return (payloads.reveal_click(team_id="T0ACME", channel="C0GENERAL")
            .replace("__USER__", user).replace("__TRIGGER__", trigger)
            .replace("__RESPONSE__", "http%3A%2F%2F127.0.0.1%2Fr")
            .replace("__SECRET__", secret_id).replace("__TS__", "1700000000.1")).encode()


def test_the_framework_floor_serves_readyz_and_acks_a_signed_click(slack) -> None:
    """The floor server the benchmark compares against starts as the benchmark starts it,
    is ready, and acknowledges a signed Reveal click (it broke once, unnoticed, when
    BotASGI's readiness check changed)."""
    with served("benchmarks.floor_app", slack) as base:
        assert post_signed(base, click("U0BOB", "1.2.abc", "X")) == 200


def test_the_least_app_shows_a_secret_once_and_posts_a_share_to_each_recipient(
        slack, redis_url, redis_sync) -> None:
    """The least reveal and share (the bound the report prints) do their whole job: a
    click shows the stored secret once and deletes it; a second click shows nothing; a
    share stores one ciphertext and posts a Reveal button to each recipient."""
    from benchmarks.least_app import PREFIX
    from benchmarks.suite import seed_least
    from tests.conftest import ALICE, BOB, EVE

    key = os.urandom(32)
    [[secret_id, _]] = seed_least(redis_url, key, 1, tag="t")
    assert payloads.SECRET_100.encode() not in redis_sync.get(PREFIX + secret_id)
    slack.reset()
    with served("benchmarks.least_app", slack, REDIS_URL=redis_url, LEAST_KEY=key.hex()) as base:
        first, second = slack.new_trigger_id(), slack.new_trigger_id()
        assert post_signed(base, click(BOB, first, secret_id)) == 200
        [shown] = slack.wait_for("views.open")
        assert shown.response["ok"] is True
        assert shown.params["trigger_id"] == first
        assert payloads.SECRET_100 in json.dumps(shown.params["view"])
        assert redis_sync.exists(PREFIX + secret_id) == 0
        assert post_signed(base, click(BOB, second, secret_id)) == 200
        before = len(redis_sync.keys(PREFIX + "*"))
        form = (payloads.share_submission(team_id="T0ACME", channel="C0GENERAL")
                .replace("__USER__", ALICE).replace("__TRIGGER__", slack.new_trigger_id())
                .replace("__R1__", BOB).replace("__R2__", EVE)).encode()
        assert post_signed(base, form) == 200
        posts = slack.wait_for("chat.postMessage", count=2)
        assert {p.params["channel"] for p in posts} == {BOB, EVE}
        assert all(p.response["ok"] and p.params["text"].startswith(f"<@{ALICE}> shared a secret")
                   for p in posts)
        assert len(redis_sync.keys(PREFIX + "*")) == before + 1
    assert len(slack.calls_to("views.open")) == 1


async def test_seeded_secrets_owe_nothing_as_if_the_bot_had_shared_them(redis_url,
                                                                          redis_sync) -> None:
    """Secrets the benchmark seeds are delivered and audited, as after the bot's own share:
    left owing, the bot's sweep would take them over as a dead process's work and send
    their Reveal messages again in the middle of the runs."""
    from benchmarks.storage import PREFIX, seed_secrets
    from bot.crypto import generate_key_entry
    from bot.storage import KeySpace

    keys = KeySpace(PREFIX)
    clicks = await seed_secrets(redis_url, generate_key_entry("t"), count=3, team_id="T0B",
                                channel="C0B", tag="x", senders=["U0S1"])
    assert len(clicks) == 6
    assert redis_sync.zcard(keys.undelivered()) == 0
    for secret_id in {c[0] for c in clicks}:
        assert redis_sync.hlen(keys.owed(secret_id)) == 0
    created = [e for _, e in redis_sync.xrange(f"{PREFIX}:{{audit}}:events")
               if b"secret_created" in b"".join(e.values())]
    assert len(created) == 3
