"""SIGKILL of the real bot during a burst of shares and reveals, with Slack slow so that
work is in flight, then a restart on the same Redis. Nothing confirmed is lost, no view
is lost or shown twice, and the audit stream tells the same story as Redis."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from devtools.harness.bot_process import BotProcess
from devtools.harness.slack_client import SlackSim
from tests.conftest import ALICE, BOB, GENERAL, SIGNING_SECRET, bot_env, populate

pytestmark = pytest.mark.e2e

BEFORE, DURING = 6, 6  # secrets shared before the burst (revealed in it); shared in it
SLACK_LATENCY = 0.5  # every Web API answer this late: the kill lands mid-call
KILL_AFTER = 0.3
ORPHAN_TIMEOUT = 3  # CLAIM_TIMEOUT_SECONDS for the test: the sweep takes over soon


def metas(client) -> dict[str, dict[str, str]]:
    """Every secret's metadata by label."""
    found = {}
    for key in client.scan_iter(match="ss:{*}:m"):
        fields = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
        if fields:
            found[fields.get("lbl", "")] = fields
    return found


def audit(client) -> list[dict[str, str]]:
    return [{k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in client.xrange("ss:{audit}:events")]


def showings(slack, text: str) -> int:
    """Modals Slack was asked to open (and opened) holding `text`, by any process."""
    return sum(1 for c in slack.calls_to("views.open")
               if c.ok and text in json.dumps(c.params.get("view")))


def share(sim, label: str, text: str) -> None:
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    assert sim.submit(ALICE, view, recipients=[BOB], secret=text, label=label).body == b""


def prompts_by_id(sim) -> dict[str, tuple]:
    return {button["value"]: (message, button) for message, button in sim.find_prompts(BOB)}


def test_sigkill_mid_burst_loses_nothing_and_shows_nothing_twice(slack, crash_db, tmp_path):
    """Kill -9 while shares are being stored and delivered and reveals are being shown;
    restart on the same Redis; the sweep takes over what the dead process left."""
    url, client = crash_db
    slack.reset()
    populate(slack)
    tag = secrets.token_hex(3)
    texts = {f"pre-{i}": f"pre-secret-{i}-{tag}" for i in range(BEFORE)}
    texts |= {f"burst-{i}": f"burst-secret-{i}-{tag}" for i in range(DURING)}
    env = bot_env(slack, url, SWEEP_INTERVAL_SECONDS="1",
                  CLAIM_TIMEOUT_SECONDS=str(ORPHAN_TIMEOUT))
    first = BotProcess(env, workdir=tmp_path).start()
    try:
        sim = SlackSim(bot=first, slack=slack, signing_secret=SIGNING_SECRET)
        for i in range(BEFORE):
            share(sim, f"pre-{i}", texts[f"pre-{i}"])
        deadline = time.monotonic() + 10
        while len(prompts_by_id(sim)) < BEFORE and time.monotonic() < deadline:
            time.sleep(0.05)
        before = prompts_by_id(sim)
        assert len(before) == BEFORE
        forms = [sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
                 for _ in range(DURING)]

        slack.latency = SLACK_LATENCY
        with ThreadPoolExecutor(max_workers=BEFORE + DURING) as pool:
            shares = [pool.submit(sim.submit, ALICE, form, recipients=[BOB],
                                  secret=texts[f"burst-{i}"], label=f"burst-{i}")
                      for i, form in enumerate(forms)]
            clicks = [pool.submit(sim.click, BOB, message, button)
                      for message, button in before.values()]
            time.sleep(KILL_AFTER)
            first.kill()
            acked = set()
            for i, future in enumerate(shares):
                try:
                    if future.result().body == b"":
                        acked.add(f"burst-{i}")
                except OSError:
                    pass  # no answer: the sender saw Slack's error, not "shared"
            for future in clicks:
                with contextlib.suppress(OSError):  # the click's answer died with the bot
                    future.result()
        slack.latency = 0.0
    finally:
        first.stop()
    at_crash = set(client.zrange("ss:claims", 0, -1))
    owed_at_crash = client.zcard("ss:undelivered")
    assert at_crash or owed_at_crash, "the kill found nothing in flight: the test proves nothing"
    slots_at_crash = {label: meta.get(f"r:{BOB}", "") for label, meta in metas(client).items()}

    second = BotProcess(env, workdir=tmp_path).start()
    try:
        sim = SlackSim(bot=second, slack=slack, signing_secret=SIGNING_SECRET)
        deadline = time.monotonic() + ORPHAN_TIMEOUT + 15
        while (client.zcard("ss:claims") or client.zcard("ss:undelivered")) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.zcard("ss:claims") == 0, "a view was left claimed"
        assert client.zcard("ss:undelivered") == 0, "a delivery was left owed"

        stored = metas(client)
        # Every share acknowledged as shared is stored whole and active.
        for label in acked:
            assert stored[label]["st"] == "active", label
            assert client.exists(f"ss:{{{stored[label]['id'][:12]}}}:c"), label
        # Every secret stored (acknowledged or not) reached Bob, and each is revealed
        # exactly once in all: before the crash, or now.
        prompts = {**before, **prompts_by_id(sim)}  # a revealed prompt loses its button
        for label, meta in stored.items():
            text = texts[label]
            assert meta["id"] in prompts, f"{label} never reached Bob"
            slot = meta[f"r:{BOB}"]
            if slot == "0":
                assert showings(slack, text) == 0, f"{label} shown, then given back"
                message, button = prompts[meta["id"]]
                click = sim.click(BOB, message, button)
                assert text in json.dumps(sim.shown_view(click.trigger_id))
            else:
                assert slot.startswith("v"), f"{label}: {slot}"
                assert meta["st"] == "burned"
            assert showings(slack, text) <= 1, f"{label} shown twice"
        for label in texts:
            assert showings(slack, texts[label]) <= 1
        time.sleep(1.0)  # the last reveals' audit events
        events = audit(client)
    finally:
        second.stop()

    # The audit stream tells the same story as Redis.
    created = Counter(e["secret_id"] for e in events if e["event"] == "secret_created")
    opened = Counter(e["secret_id"] for e in events if e["event"] == "secret_opened")
    given_back = [e for e in events if e["event"] == "reveal_failed"
                  and "given back" in e.get("detail", "")]
    assert all(n == 1 for n in created.values())
    assert set(created) == {meta["id"] for meta in metas(client).values()}
    assert set(opened) <= set(created), "an opened secret was never created"
    assert all(n == 1 for n in opened.values()), "a view was audited as opened twice"
    assert set(opened) == {m["id"] for m in metas(client).values()}
    claimed_at_crash = {label for label, slot in slots_at_crash.items() if slot.startswith("c")}
    showing_at_crash = {label for label, slot in slots_at_crash.items() if slot.startswith("s")}
    ids = {label: meta["id"] for label, meta in metas(client).items()}
    assert {e["secret_id"] for e in given_back} == {ids[label] for label in claimed_at_crash}
    unconfirmed = {e["secret_id"] for e in events if e["event"] == "secret_opened"
                   and "process stopped" in e.get("detail", "")}
    assert unconfirmed == {ids[label] for label in showing_at_crash}
    print(f"\n  crash test: {len(acked)}/{DURING} shares acknowledged before the kill, "
          f"{len(stored)} stored; claims at the kill: {len(at_crash)} "
          f"({len(claimed_at_crash)} claimed, {len(showing_at_crash)} being shown); "
          f"deliveries owed at the kill: {owed_at_crash}", end="")


async def test_a_sweep_taking_over_a_delivery_records_a_missing_creation_once(
        store, keyring, slack, redis_url, redis_sync):
    """A process that died between storing a secret and auditing it: the sweep that takes
    over its delivery records `secret_created`, and only where it is missing; Bob gets
    his Reveal message."""
    import logging

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.audit import events
    from bot.audit.log import DurableAuditLog
    from bot.domain import ShareForm
    from bot.secrets.expiry import Sweeper
    from bot.secrets.lifecycle import LifecycleService
    from bot.secrets.sharing import SharingService
    from bot.storage.audit_stream import AuditStream
    from bot.workspaces.routes import OneWorkspace, TeamNotices
    from tests.conftest import BOT_TOKEN
    from tests.unit.test_sharing import People

    slack.reset()
    populate(slack)
    service = SharingService(store=store, keyring=keyring)
    shared = [await service.share(ShareForm(team_id=slack.team_id, sender_id=ALICE,
                                            recipients=(BOB,), text=f"crash-{i}",
                                            origin_channel=GENERAL), people=People())
              for i in range(2)]
    logger = logging.getLogger("test")
    client = redis.asyncio.Redis.from_url(redis_url)
    # An audit stream of its own: the session's bot posts the "ss" one to the stand-in.
    audit = DurableAuditLog(AuditStream(client, prefix="crashtest", retention_seconds=3600),
                            logger=logger)
    recorded = shared[1]  # this one's process lived long enough to audit it
    created = events.secret_created(recorded)
    await audit.record(created.event, nonce=created.nonce)
    later = shared[0].created_at + 200
    sweeper = Sweeper(
        lifecycle=LifecycleService(store=store, clock=lambda: later), audit=audit,
        logger=logger, clock=lambda: later,
        notices=TeamNotices(OneWorkspace(AsyncWebClient(token=BOT_TOKEN,
                                                        base_url=slack.base_url),
                                         audit_channel=None),
                            audit=audit, logger=logger, clock=lambda: later))
    await sweeper.run_once()
    created = Counter(fields[b"secret_id"].decode()
                      for _, fields in redis_sync.xrange("crashtest:{audit}:events")
                      if fields[b"event"] == b"secret_created")
    assert created == {s.secret_id: 1 for s in shared}
    assert redis_sync.zcard("ss:undelivered") == 0
    assert len([c for c in slack.calls_to("chat.postEphemeral")
                if c.params["user"] == BOB]) == 2
    await client.aclose()

