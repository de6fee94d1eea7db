"""GET /metrics: Prometheus counters, histograms and Redis-read gauges, scraped from the
real bot after real actions; and counters summed across worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import redis
from port_for import get_port
from prometheus_client.parser import text_string_to_metric_families

from devtools.harness.bot_process import REPO, http_request
from tests.conftest import (
    ALICE,
    BOB,
    EVE,
    GENERAL,
    METRICS_AUTH,
    SIGNING_SECRET,
    bot_on_db,
    settle,
    sim_for,
)

pytestmark = pytest.mark.e2e

SECRET = "metrics-never-see-this-3391"


@pytest.fixture(scope="module")
def measured(slack, redis_url, tmp_path_factory):
    with bot_on_db(slack, redis_url, 3, tmp_path_factory.mktemp("measured"),
                   LOG_FORMAT="json", SWEEP_INTERVAL_SECONDS="0.2") as (process, url):
        yield process, redis.Redis.from_url(url)


@pytest.fixture
def sim(measured, slack):
    yield sim_for(measured[0], slack)
    settle(slack)


def scrape(bot) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    status, body = bot.request("GET", "/metrics", headers=METRICS_AUTH)
    assert status == 200
    text = body.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def share(sim, recipients) -> str:
    """Alice shares SECRET; returns its share code (from her receipt)."""
    def to_alice(call) -> bool:
        return call.params.get("user") == ALICE

    earlier = len([c for c in sim.slack.calls_to("chat.postEphemeral") if to_alice(c)])
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    assert sim.submit(ALICE, view, recipients=recipients, secret=SECRET).status == 200
    receipt = sim.slack.wait_for("chat.postEphemeral", count=earlier + 1, where=to_alice)[-1]
    settle(sim.slack)
    return json.dumps(receipt.params["blocks"]).split("Share code: `")[1][:14]


def wait_for(bot, check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        samples, _ = scrape(bot)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def test_counters_and_gauges_follow_what_happened(measured, sim, slack):
    """Created, revealed, burned, denied (by reason), revoked, expired, requests by kind,
    Slack errors by method, and active secrets read from Redis, all move as they should;
    no label or value carries a secret, a code or a person."""
    bot, client = measured
    before, _ = scrape(bot)
    assert value(before, "share_secret_redis_up") == 1

    slack.fail("chat.postEphemeral", error="channel_not_found", times=1)  # falls back to DM
    share(sim, [BOB])
    revoked_code = share(sim, [BOB, EVE])
    expiring_code = share(sim, [BOB])
    middle = wait_for(bot, lambda s: value(s, "share_secret_secrets_active") >= 3)
    assert moved(before, middle, "share_secret_secrets_created_total") == 3
    assert moved(before, middle, "share_secret_secrets_active") == 3
    assert moved(before, middle, "share_secret_slack_api_errors_total",
                 method="chat.postEphemeral", error="channel_not_found") == 1

    message, button = sim.find_prompts(BOB)[0]
    sim.shown_view(sim.click(BOB, message, button).trigger_id)   # revealed, burned
    sim.shown_view(sim.click(EVE, message, button).trigger_id)   # not hers
    sim.shown_view(sim.click(BOB, message, button).trigger_id)   # used up
    sim.slash_command(ALICE, GENERAL, f"revoke {revoked_code}")
    # Expire the third one now: its expiry time moved into the past, for the sweep.
    handle = expiring_code.replace("-", "")
    past = time.time() - 1
    client.hset(f"ss:{{{handle}}}:m", "exp", repr(past))
    client.zadd("ss:expiries", {handle: past})

    after = wait_for(bot, lambda s: moved(before, s, "share_secret_secrets_expired_total")
                     and moved(before, s, "share_secret_secrets_revoked_total", by="sender"))
    assert moved(before, after, "share_secret_secrets_revealed_total") == 1
    assert moved(before, after, "share_secret_secrets_burned_total") == 1
    assert moved(before, after, "share_secret_reveals_denied_total", reason="not_recipient") == 1
    assert moved(before, after, "share_secret_reveals_denied_total", reason="unavailable") == 1
    assert moved(before, after, "share_secret_secrets_revoked_total", by="sender") == 1
    assert moved(before, after, "share_secret_secrets_expired_total") == 1
    assert moved(before, after, "share_secret_secrets_active") == 0  # 3 made, 3 ended
    assert moved(before, after, "share_secret_handler_seconds_count", kind="block_actions") == 3
    assert moved(before, after, "share_secret_slack_requests_total", kind="block_actions",
                 outcome="ok") == 3
    assert moved(before, after, "share_secret_handler_seconds_count", kind="view_submission") \
        == 3
    assert moved(before, after, "share_secret_handler_seconds_count", kind="command") == 4

    _, text = scrape(bot)
    assert SECRET not in text
    for forbidden in (ALICE, BOB, EVE, revoked_code, expiring_code, handle):
        assert forbidden not in text


def test_audit_outbox_lag_is_read_from_redis(measured, sim, slack):
    """While Slack refuses the audit channel's posts, the lag grows (events and age);
    once Slack takes them again it falls back to zero."""
    bot, _ = measured
    wait_for(bot, lambda s: value(s, "share_secret_audit_outbox_lag_events") == 0)
    slack.fail("chat.postMessage", error="internal_error", times=None)
    share(sim, [BOB])
    time.sleep(1.1)
    lagging, _ = scrape(bot)
    assert value(lagging, "share_secret_audit_outbox_lag_events") >= 1
    assert value(lagging, "share_secret_audit_outbox_lag_seconds") >= 1
    assert value(lagging, "share_secret_slack_api_errors_total", method="chat.postmessage",
                 error="internal_error") == 0  # method names keep their case
    assert value(lagging, "share_secret_slack_api_errors_total", method="chat.postMessage",
                 error="internal_error") >= 1
    slack.clear_faults()
    caught_up = wait_for(bot, lambda s: value(s, "share_secret_audit_outbox_lag_events") == 0,
                         timeout=15)
    assert value(caught_up, "share_secret_audit_outbox_lag_events") == 0
    assert value(caught_up, "share_secret_audit_outbox_lag_seconds") == 0


def test_the_public_port_shows_metrics_and_readiness_detail_only_to_the_token(measured):
    """On the public port /metrics answers 401 without the token or with a wrong one,
    200 with it; /readyz says only ok (its reason to the token's bearer); /healthz, the
    Docker health check, stays open."""
    bot, _ = measured
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all"},
                    {"Authorization": METRICS_AUTH["Authorization"] + "x"},
                    {"Authorization": METRICS_AUTH["Authorization"].replace("Bearer", "Basic")}):
        status, body = bot.request("GET", "/metrics", headers=headers)
        assert status == 401
        assert b"share_secret" not in body
        assert bot.request("GET", "/readyz", headers=headers) == (200, b'{"ok": true}')
    assert bot.request("HEAD", "/metrics")[0] == 401
    status, body = bot.request("GET", "/metrics", headers=METRICS_AUTH)
    assert status == 200
    assert b"share_secret_secrets_active" in body
    assert bot.request("GET", "/readyz", headers=METRICS_AUTH) == \
        (200, b'{"ok": true, "reason": "ok"}')
    assert bot.get("/healthz") == (200, b'{"ok": true}')


def test_a_metrics_port_of_its_own(slack, redis_url, tmp_path):
    """With METRICS_PORT and no token, /metrics is not on the public port (404) but on a
    loopback listener of its own, which serves only /metrics, /readyz (with its reason)
    and /healthz; with two workers a scrape there sums both workers' counts."""
    metrics_port = get_port(None)
    with bot_on_db(slack, redis_url, 4, tmp_path, METRICS_TOKEN="",
                   METRICS_PORT=str(metrics_port), WEB_CONCURRENCY="2") as (bot, _):
        sim = sim_for(bot, slack)
        assert bot.get("/metrics")[0] == 404
        assert bot.request("GET", "/metrics", headers=METRICS_AUTH)[0] == 404
        assert bot.get("/readyz") == (200, b'{"ok": true}')
        assert http_request(metrics_port, "GET", "/readyz") == \
            (200, b'{"ok": true, "reason": "ok"}')
        assert http_request(metrics_port, "GET", "/healthz") == (200, b'{"ok": true}')
        assert http_request(metrics_port, "POST", "/slack/events", b"{}")[0] == 404
        assert http_request(metrics_port, "GET", "/slack/install")[0] == 404
        for _ in range(3):
            share(sim, [BOB])
        # Each scrape lands on either worker; each sums both workers' counts.
        for _ in range(6):
            status, body = http_request(metrics_port, "GET", "/metrics")
            assert status == 200
            created = [f for f in text_string_to_metric_families(body.decode())
                       if f.name == "share_secret_secrets_created"]
            assert [s.value for s in created[0].samples if s.name.endswith("_total")] == [3]
        assert SECRET not in body.decode()


_WORKER = """
import sys
from bot.telemetry.metrics import Metrics
m = Metrics(multiprocess_dir=sys.argv[1])
for _ in range(int(sys.argv[2])):
    m.created.inc()
m.observe_request("command", 0.01, ok=True)
"""
_SCRAPER = """
import sys
from bot.telemetry.metrics import Metrics, SharedState
sys.stdout.write(Metrics(multiprocess_dir=sys.argv[1]).render(SharedState(7, 0, 0.0)).decode())
"""


def test_counters_add_up_across_worker_processes(tmp_path):
    """In multiprocess mode (as under several uvicorn workers), each process's counts are
    kept and a scrape from any process sums them."""
    env = {"PYTHONPATH": str(REPO), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", _WORKER, str(tmp_path), count], env=env,
                       check=True, timeout=60)
    page = subprocess.run([sys.executable, "-c", _SCRAPER, str(tmp_path)], env=env,
                          check=True, timeout=60, capture_output=True, text=True).stdout
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(page) for s in f.samples}
    assert samples[("share_secret_secrets_created_total", ())] == 5
    assert samples[("share_secret_handler_seconds_count", (("kind", "command"),))] == 2
    assert samples[("share_secret_secrets_active", ())] == 7


def test_the_server_sets_up_and_removes_its_metrics_directory(monkeypatch, tmp_path):
    """Without PROMETHEUS_MULTIPROC_DIR the server makes a private directory and removes
    it at exit; a given directory is kept, emptied of an earlier run's files."""
    from bot.config import Settings
    from bot.telemetry import metrics_dir
    from tests.conftest import BOT_TOKEN, TEST_KEYS

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    base = Settings(_env_file=None, slack_bot_token=BOT_TOKEN,
                    slack_signing_secret=SIGNING_SECRET, encryption_keys=TEST_KEYS)
    made = metrics_dir.prepare(base)
    directory = made.prometheus_multiproc_dir
    assert directory is not None
    assert (tmp_path.parent / directory).is_dir()
    metrics_dir.cleanup(made)
    assert not (tmp_path.parent / directory).exists()

    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    kept = metrics_dir.prepare(base.model_copy(update={"prometheus_multiproc_dir": str(given)}))
    metrics_dir.cleanup(kept)
    assert given.is_dir()
    assert sorted(p.name for p in given.iterdir()) == ["keep.txt"]
