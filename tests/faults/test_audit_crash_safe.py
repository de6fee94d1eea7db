"""Audit events survive a bot process killed between a change in Redis and its audit
append: the change notes the event it owes in the same Lua step, and the sweep of a
restarted process appends what the dead one owed, exactly once, in order.

The window is held open by blocking the audit stream: its key is replaced by a string,
so every XADD fails (WRONGTYPE) while the secrets' keys answer as usual. The bot then
holds the event in memory, retrying, exactly as when it is killed right after the change;
SIGKILL at that moment loses what it held. Nothing in the bot knows about this seam.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.slack_client import SlackSim
from tests.conftest import ALICE, BOB, GENERAL, SIGNING_SECRET, bot_env, populate, wait_until
from tests.faults.test_faults_crash import audit, metas, prompts_by_id, share

pytestmark = pytest.mark.e2e

STREAM = "ss:{audit}:events"
ORPHAN_TIMEOUT = 2  # CLAIM_TIMEOUT_SECONDS: the sweep takes over owed events this soon


def owed(client) -> dict[bytes, dict[bytes, bytes]]:
    """Every secret's owed audit events (bot.storage.owed)."""
    return {key: client.hgetall(key) for key in client.scan_iter(match="ss:{*}:o")}


def block_stream(client) -> None:
    client.delete(STREAM)
    client.set(STREAM, "blocked")  # every XADD now fails; the secrets' keys do not


def three_changes(sim, client) -> dict[str, str]:
    """Share three secrets (their creation audited), block the stream, then revoke one,
    reveal (and so burn) one and expire one. Returns the secret ids by label."""
    for label in ("revoked", "revealed", "expired"):
        share(sim, label, f"crash-safe-{label}")
    wait_until(lambda: len(prompts_by_id(sim)) == 3, what="the Reveal messages")
    ids = {label: meta["id"] for label, meta in metas(client).items()}
    wait_until(lambda: Counter(e["event"] for e in audit(client))["secret_created"] == 3,
               what="the creations' audit")
    # The process settled what its changes owed, once the events were in the stream.
    wait_until(lambda: not owed(client), what="the creations to be settled")
    block_stream(client)

    code = ids["revoked"][:12]
    sim.slash_command(ALICE, GENERAL, f"revoke {code[:4]}-{code[4:8]}-{code[8:]}")
    message, button = prompts_by_id(sim)[ids["revealed"]]
    assert "crash-safe-revealed" in str(sim.shown_view(sim.click(BOB, message, button)
                                                       .trigger_id))
    handle = ids["expired"][:12]
    past = int(time.time()) - 5
    client.hset(f"ss:{{{handle}}}:m", "exp", past)
    client.zadd("ss:expiries", {handle: past})
    wait_until(lambda: {label: meta["st"] for label, meta in metas(client).items()} ==
               {"revoked": "revoked", "revealed": "burned", "expired": "expired"},
               what="the three changes")
    return ids


def assert_told_once(events: list[dict[str, str]], ids: dict[str, str]) -> None:
    """The stream holds each event the three changes imply exactly once, worded as the
    process that made the change words it, and the reveal's events in order."""
    told = Counter((e["event"], e["secret_id"]) for e in events)
    assert told == Counter({("secret_revoked", ids["revoked"]): 1,
                            ("secret_opened", ids["revealed"]): 1,
                            ("secret_burned", ids["revealed"]): 1,
                            ("secret_expired", ids["expired"]): 1})
    by = {e["event"]: e for e in events}
    assert by["secret_revoked"]["actor"] == ALICE
    assert by["secret_revoked"]["recipients"] == BOB
    assert by["secret_opened"]["actor"] == by["secret_burned"]["actor"] == BOB
    assert by["secret_burned"]["detail"] == "last view used; ciphertext deleted"
    assert (by["secret_expired"]["actor"], by["secret_expired"]["detail"]) == (ALICE, "unread")
    order = [e["event"] for e in events]
    assert order.index("secret_opened") < order.index("secret_burned")


def test_events_owed_by_a_killed_process_are_recorded_once_after_a_restart(slack, crash_db,
                                                                           tmp_path):
    """SIGKILL after revoke, reveal (opened, burned) and expiry changed Redis but before
    their events reached the stream; the restarted process's sweep records each once."""
    url, client = crash_db
    slack.reset()
    populate(slack)
    env = bot_env(slack, url, SWEEP_INTERVAL_SECONDS="0.5",
                  CLAIM_TIMEOUT_SECONDS=str(ORPHAN_TIMEOUT))
    first = BotProcess(env, workdir=tmp_path).start()
    try:
        sim = SlackSim(bot=first, slack=slack, signing_secret=SIGNING_SECRET)
        ids = three_changes(sim, client)
        first.kill()
    finally:
        first.stop()
    client.delete(STREAM)  # the stream answers again, empty
    # What the dead process owed is in Redis, next to each secret.
    left = {key.decode()[4:16]: sorted(n.decode().split(":")[0] for n in entries)
            for key, entries in owed(client).items()}
    assert left == {ids["revoked"][:12]: ["ended"], ids["expired"][:12]: ["ended"],
                    ids["revealed"][:12]: ["burned", "opened"]}

    second = BotProcess(env, workdir=tmp_path).start()
    try:
        wait_until(lambda: not owed(client), what="the sweep to record the owed events")
        time.sleep(ORPHAN_TIMEOUT + 1.5)  # more passes: nothing is recorded twice
        events = audit(client)
        wait_until(lambda: not client.zcard("ss:owed"), what="the owed index to empty")
    finally:
        second.stop()
    assert_told_once(events, ids)


def test_a_live_process_and_the_sweep_record_an_owed_event_once(slack, crash_db, tmp_path):
    """The stream blocked for longer than the sweep's grace: the process keeps retrying
    its events and the sweep takes them over too; each is stored once all the same."""
    url, client = crash_db
    slack.reset()
    populate(slack)
    env = bot_env(slack, url, SWEEP_INTERVAL_SECONDS="0.5",
                  CLAIM_TIMEOUT_SECONDS=str(ORPHAN_TIMEOUT))
    with BotProcess(env, workdir=tmp_path) as bot:
        sim = SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)
        ids = three_changes(sim, client)
        time.sleep(ORPHAN_TIMEOUT + 1.0)
        client.delete(STREAM)
        wait_until(lambda: not owed(client), what="the owed events to be settled")
        time.sleep(ORPHAN_TIMEOUT + 1.5)
        events = audit(client)
    assert_told_once(events, ids)


async def test_two_sweeps_take_each_owed_event_once(store, keyring, redis_url, redis_sync):
    """Replicas sweeping at once: each owed event is taken by one of them, and taken
    again only once it is stale again (its taker died too). Index entries of secrets
    that still owe something are kept."""
    from bot.domain import Status
    from bot.secrets.sharing import SharingService
    from bot.storage import KeySpace, connect
    from bot.storage.owed import OwedEvents
    from tests.unit.test_sharing import People, form

    service = SharingService(store=store, keyring=keyring)
    shared = [await service.share(form(), people=People()) for _ in range(3)]
    for record in shared:
        await store.end(record.secret_id, status=Status.REVOKED, now=time.time(),
                        actor=ALICE)
    later = time.time() + 60
    first, second = (OwedEvents(connect(redis_url), keys=KeySpace("ss")) for _ in range(2))
    # A sweep at `later + 120` takes what was owed at or before `later` (its grace: 120 s).
    got = await asyncio.gather(first.take_due(cutoff=later, now=later + 120, limit=100),
                               second.take_due(cutoff=later, now=later + 120, limit=100))
    taken = [(e.handle, e.nonce) for batch in got for e in batch]
    assert len(taken) == len(set(taken)) == 6  # created and revoked, per secret
    assert await first.take_due(cutoff=later, now=later + 120, limit=100) == []
    again = await second.take_due(cutoff=later + 120, now=later + 240, limit=100)
    assert len(again) == 6  # stale again: whoever took them did not settle them
    assert [e.action.value for e in again if e.secret_id == shared[0].secret_id] == [
        "secret_created", "secret_revoked"]
    assert await first.forget_settled(cutoff=later, limit=100) == 0  # still owed
    for event in again:
        await first.settle(event.secret_id, event.nonce)
    assert await first.forget_settled(cutoff=later, limit=100) == 3
    assert redis_sync.zcard("ss:owed") == 0
