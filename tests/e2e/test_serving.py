"""The production server: `python -m bot` under uvicorn with WEB_CONCURRENCY workers,
stopped by SIGTERM while requests and follow-up work are in flight; liveness and
readiness. Each test runs the real bot as a process on a Redis of its own."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import redis

from bot.crypto import MasterKey
from bot.web.readiness import ReadinessCheck
from devtools.harness.bot_process import BotProcess
from devtools.harness.expiry import make_due
from devtools.harness.payloads import SlackUsers
from devtools.harness.redis_server import PersistentRedis
from devtools.harness.slack_client import Reply, SlackSim
from tests.conftest import (
    ALICE,
    EVE,
    GENERAL,
    METRICS_AUTH,
    SIGNING_SECRET,
    bot_env,
    populate,
    wait_until,
)

pytestmark = pytest.mark.e2e

SHARES = 4  # share submissions in flight at SIGTERM (each waits on users.info)
REVEALS = 4  # Reveal clicks whose views.open is in flight at SIGTERM
LATENCY = 0.5  # seconds Slack takes for every call while the bot is stopped
SHUTDOWN_BOUND = 25.0  # seconds: inside the 30 s Kubernetes and Heroku give


@pytest.fixture
def fresh_slack(slack):
    slack.reset()
    populate(slack)
    for n in range(SHARES):  # one recipient per share, so each share asks users.info
        slack.add_user(f"U0PEER{n}", f"peer{n}")
    yield slack
    slack.reset()


def share(sim: SlackSim, recipient: str, secret: str) -> None:
    view = sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
    reply = sim.submit(ALICE, view, recipients=[recipient], secret=secret)
    assert (reply.status, reply.body) == (200, b"")


def audit_events(client: redis.Redis, name: bytes) -> list[dict[bytes, bytes]]:
    return [f for _, f in client.xrange("ss:{audit}:events") if f[b"event"] == name]


@dataclass
class Stopped:
    """What a bot stopped mid-flight left behind."""

    status: int
    took: float
    submitted: list[Reply]
    clicked: list[Reply]
    lease_left: bool
    opened: int
    created: int
    log: str


def stop_mid_flight(slack, tmp_path, *, workers: int, shares: int,
                    reveals: int) -> Stopped:
    """Start a bot; with Slack slow, submit `shares` share forms and click Reveal on
    `reveals` secrets, and SIGTERM the bot once all of that is under way."""
    with PersistentRedis(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        bot = BotProcess(bot_env(slack, server.url, WEB_CONCURRENCY=str(workers),
                                 SWEEP_INTERVAL_SECONDS="0.5"), workdir=tmp_path).start()
        sim = SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)
        try:
            for n in range(reveals):
                share(sim, EVE, f"to-reveal-{n}")
            wait_until(lambda: len(sim.find_prompts(EVE)) == reveals, what="prompts")
            prompts = sim.find_prompts(EVE)
            forms = [sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
                     for _ in range(shares)]
            wait_until(lambda: client.exists("ss:{audit}:lease"), what="the outbox lease")
            asked, opened_before = slack.arrived("users.info"), slack.arrived("views.open")
            slack.latency = LATENCY
            with ThreadPoolExecutor(max_workers=shares + reveals) as pool:
                submits = [pool.submit(sim.submit, ALICE, view, recipients=[f"U0PEER{n}"],
                                       secret=f"shared-{n}") for n, view in enumerate(forms)]
                clicks = [pool.submit(sim.click, EVE, message, button)
                          for message, button in prompts]
                # Every submission is waiting on users.info, every reveal on views.open.
                wait_until(lambda: slack.arrived("users.info") >= asked + shares
                           and slack.arrived("views.open") >= opened_before + reveals,
                           what="the requests to be under way")
                stopped_at = time.monotonic()
                bot.terminate()
                submitted = [f.result(timeout=30) for f in submits]
                clicked = [f.result(timeout=30) for f in clicks]
            status = bot.wait(timeout=SHUTDOWN_BOUND + 5)
            took = time.monotonic() - stopped_at
        finally:
            slack.latency = 0.0
            bot.stop()
        stopped = Stopped(status, took, submitted, clicked,
                          bool(client.exists("ss:{audit}:lease")),
                          len(audit_events(client, b"secret_opened")),
                          len(audit_events(client, b"secret_created")), bot.log_text())
        client.close()
    print(f"WEB_CONCURRENCY={workers}: SIGTERM to exit {took:.2f} s")
    return stopped


def assert_revealed(slack, clicked: list[Reply]) -> None:
    """Each click's secret was shown, its message updated and its sender told."""
    for reply in clicked:
        shown = [c for c in slack.calls_to("views.open")
                 if c.params.get("trigger_id") == reply.trigger_id]
        assert [c.ok for c in shown] == [True]
        assert "to-reveal-" in json.dumps(shown[0].params["view"])
    updates = [c for c in slack.calls_to("response_url")
               if c.ok and "You revealed" in json.dumps(c.params)]
    assert len(updates) == len(clicked)
    receipts = [c for c in slack.calls_to("chat.postMessage")
                if c.ok and f"<@{EVE}> viewed" in c.params.get("text", "")]
    assert len(receipts) == len(clicked)


def assert_clean_exit(stopped: Stopped) -> None:
    assert stopped.status == 0, stopped.log
    assert stopped.took < SHUTDOWN_BOUND
    assert not stopped.lease_left  # given back, so another replica takes over at once
    assert "Traceback" not in stopped.log
    assert "cancelled" not in stopped.log


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_answers_requests_in_flight_and_finishes_their_work(fresh_slack, tmp_path,
                                                                     workers):
    """SIGTERM while share submissions wait on Slack and reveals are being shown: every
    request gets its 200, every follow-up Slack call is made, the audit lease is given
    back, and the process exits 0 in bounded time."""
    slack = fresh_slack
    stopped = stop_mid_flight(slack, tmp_path, workers=workers, shares=SHARES,
                              reveals=REVEALS)
    assert_clean_exit(stopped)
    assert [(r.status, r.body) for r in stopped.submitted] == [(200, b"")] * SHARES
    assert [r.status for r in stopped.clicked] == [200] * REVEALS
    assert_revealed(slack, stopped.clicked)
    for n in range(SHARES):
        assert SlackUsers(slack=slack).find_prompts(f"U0PEER{n}"), f"nothing reached U0PEER{n}"
        assert any(c.ok and f"was shared with <@U0PEER{n}>" in json.dumps(c.params)
                   for c in slack.calls), f"no receipt for the share to U0PEER{n}"
    assert stopped.opened == REVEALS
    assert stopped.created == REVEALS + SHARES


def test_sigterm_right_after_clicks_finishes_the_work_they_queue(fresh_slack, tmp_path):
    """With only acknowledged clicks in flight the drain starts at once, while each reveal
    is still to queue its message update and receipt: those are drained too."""
    stopped = stop_mid_flight(fresh_slack, tmp_path, workers=1, shares=0, reveals=REVEALS)
    assert_clean_exit(stopped)
    assert [r.status for r in stopped.clicked] == [200] * REVEALS
    assert_revealed(fresh_slack, stopped.clicked)


def test_healthz_is_liveness_and_readyz_follows_redis(fresh_slack, tmp_path):
    """/healthz answers 200 whether or not Redis answers (restarting cannot bring Redis
    back); /readyz is 503 with a short reason while Redis is down, 200 once it is back;
    and a bot whose Redis is down still stops cleanly."""
    with PersistentRedis(tmp_path / "redis") as server:
        bot = BotProcess(bot_env(fresh_slack, server.url), workdir=tmp_path).start()
        try:
            assert bot.get("/healthz") == (200, b'{"ok": true}')
            assert bot.get("/readyz") == (200, b'{"ok": true}')
            server.stop()
            assert bot.get("/healthz") == (200, b'{"ok": true}')
            status, body = bot.request("GET", "/readyz", headers=METRICS_AUTH)
            assert (status, json.loads(body)) == (503, {"ok": False,
                                                        "reason": "redis unreachable"})
            server.start()
            wait_until(lambda: bot.get("/readyz")[0] == 200, what="ready again")
            server.stop()
            wait_until(lambda: bot.get("/readyz")[0] == 503, what="not ready")
            stopped_at = time.monotonic()
            bot.terminate()
            assert bot.wait(timeout=SHUTDOWN_BOUND) == 0
            assert time.monotonic() - stopped_at < 10
        finally:
            bot.stop()


class _RingWithoutItsKey:
    """A key ring that encrypts under a key it cannot find again (a broken KMS, say)."""

    def encryption_key(self) -> MasterKey:
        return MasterKey("k1", bytes(32))

    def key(self, key_id: str) -> MasterKey | None:
        return None

    @property
    def key_ids(self) -> tuple[str, ...]:
        return ()


async def test_readiness_needs_usable_keys(store):
    """Redis alone is not enough: keys that cannot decrypt what they encrypt are not
    ready, and the reason says so without naming any key."""
    assert (await ReadinessCheck(store=store, keyring=_RingWithoutItsKey())()).reason == \
        "encryption keys unusable"
    from bot.crypto import StaticKeyRing
    ready = await ReadinessCheck(store=store,
                                 keyring=StaticKeyRing([MasterKey("k1", bytes(32))]))()
    assert (ready.ready, ready.reason) == (True, "ok")


def test_a_sweep_under_way_at_sigterm_finishes_its_batch(fresh_slack, tmp_path):
    """SIGTERM while a sweep tells senders about expired secrets (Slack slow): APScheduler
    would cancel the pass; instead it finishes its batch, so every expiry is audited and
    every sender told, and the process still exits 0."""
    slack, count = fresh_slack, 3
    with PersistentRedis(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        bot = BotProcess(bot_env(slack, server.url, SWEEP_INTERVAL_SECONDS="0.2"),
                         workdir=tmp_path).start()
        sim = SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)
        try:
            for n in range(count):
                share(sim, EVE, f"to-expire-{n}")
            wait_until(lambda: len(audit_events(client, b"secret_created")) == count)
            slack.latency = 1.0
            make_due(client)
            # Audited as soon as Redis changed: the pass is now telling the senders.
            wait_until(lambda: len(audit_events(client, b"secret_expired")) == count,
                       what="the sweep")
            bot.terminate()
            status = bot.wait(timeout=SHUTDOWN_BOUND)
        finally:
            slack.latency = 0.0
            bot.stop()
        client.close()
    assert status == 0, bot.log_text()
    told = [c for c in slack.calls_to("chat.postMessage")
            if c.ok and "expired unread" in c.params.get("text", "")]
    assert len(told) == count
    assert "Traceback" not in bot.log_text()


def test_web_concurrency_defaults_to_one_and_must_be_positive(monkeypatch):
    """WEB_CONCURRENCY is the number of worker processes: 1 unless set, at least 1."""
    from bot.config import load_settings
    from bot.errors import ConfigError
    from tests.conftest import BOT_TOKEN, TEST_KEYS

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    base = {"_env_file": None, "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET, "encryption_keys": TEST_KEYS}
    assert load_settings(**base).web_concurrency == 1
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert load_settings(**base).web_concurrency == 3
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        load_settings(**base, web_concurrency=0)


def test_compose_gives_the_bot_time_to_stop_gracefully():
    """docker compose waits longer than the bot's worst-case graceful stop before SIGKILL
    (Docker's default, 10 s, could cut the drain short)."""
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    grace = compose["services"]["bot"]["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) >= SHUTDOWN_BOUND


async def test_a_served_worker_freezes_what_start_up_built(slack, redis_url, monkeypatch):
    """The production app (create_app) moves what start-up built out of the garbage
    collector's reach, so a full collection never walks it; an app a test shares the
    process with does not."""
    import gc

    from bot.web import asgi as web
    from bot.web import serving
    from tests.conftest import inprocess_settings

    settings = inprocess_settings(slack, redis_url)
    monkeypatch.setattr(serving, "load_settings", lambda: settings)
    monkeypatch.setattr(serving.logs, "configure", lambda *a, **k: None)
    assert gc.get_freeze_count() == 0

    async def start_and_stop(app: web.BotASGI) -> int:
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        frozen: list[int] = []

        async def receive() -> dict[str, str]:
            return next(messages)

        async def send(message: dict[str, str]) -> None:
            if message["type"] == "lifespan.startup.complete":
                frozen.append(gc.get_freeze_count())
        await app({"type": "lifespan"}, receive, send)
        return frozen[0]

    try:
        assert await start_and_stop(web.BotASGI(settings)) == 0
        assert await start_and_stop(serving.create_app()) > 0
    finally:
        gc.unfreeze()
