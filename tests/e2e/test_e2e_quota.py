"""End to end: storage quotas, through real shares to the running bot over HTTP.

The bot runs with a cap of two active secrets per sender. A share past it is refused in
the form, stores nothing and sends nothing; each way a secret ends (revoked, burned by
its last view, expired by the sweep) gives its room back; /metrics reports the use.
Beneath, against the store on a real Redis: a secret whose time has passed frees its
room even when nothing ended it (the sweep never ran), and the accounting holds under
concurrent shares.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import render
from bot.domain import SecretRecord, Status
from bot.errors import QuotaExceeded
from bot.options import Format, ViewLimit, ViewMode
from bot.storage import KeySpace, RedisSecretStore, connect
from bot.storage.quota import Caps, RedisQuota
from bot.storage.quota_lua import SIZE_PART, SIZE_SPAN, SIZE_UNIT
from devtools.harness.expiry import make_due
from tests.conftest import (
    ALICE,
    BOB,
    EVE,
    GENERAL,
    METRICS_AUTH,
    bot_with,
    keyring_of_test_keys,
    settle,
    sim_for,
)

FULL = "You have 2 active secrets, the most allowed. Nothing was shared"


@pytest.fixture(scope="module")
def capped(slack, redis_url, tmp_path_factory):
    """A bot whose senders may hold two active secrets; sweeps every 0.2 s."""
    with bot_with(slack, redis_url, tmp_path_factory.mktemp("quota"),
                  QUOTA_SENDER_SECRETS="2", SWEEP_INTERVAL_SECONDS="0.2") as process:
        yield process


@pytest.fixture
def sim(capped, slack, redis_sync):
    yield sim_for(capped, slack)
    settle(slack)


def ciphertexts(client) -> list[bytes]:
    return list(client.scan_iter(match="ss:{*}:c"))


def submit(sim, secret: str, recipients=(BOB,)):
    command = sim.slash_command(ALICE, GENERAL)
    assert command.status == 200
    return sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=list(recipients),
                      secret=secret)


def share(sim, secret: str, recipients=(BOB,)) -> str:
    """Alice shares `secret`; returns its share code (from her receipt)."""
    def to_alice(call) -> bool:
        return call.params.get("user") == ALICE

    earlier = len([c for c in sim.slack.calls_to("chat.postEphemeral") if to_alice(c)])
    reply = submit(sim, secret, recipients)
    assert reply.status == 200
    assert reply.body == b"", reply.body
    receipt = sim.slack.wait_for("chat.postEphemeral", count=earlier + 1, where=to_alice)[-1]
    settle(sim.slack)
    return json.dumps(receipt.params["blocks"]).split("Share code: `")[1][:14]


def open_form(sim) -> dict:
    """Alice opens the share form (while she still has room)."""
    command = sim.slash_command(ALICE, GENERAL)
    assert command.status == 200
    assert command.body == b""
    return sim.opened_view(command.trigger_id)


def refused(sim, form: dict, secret: str) -> str:
    """Alice's share, in a form opened earlier, is refused: the error next to the secret."""
    answer = sim.submit(ALICE, form, recipients=[BOB], secret=secret)
    assert answer.body, "the share was accepted"
    reply = answer.json()
    assert reply["response_action"] == "errors"
    return reply["errors"]["secret"]


def scrape(bot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = bot.request("GET", "/metrics", headers=METRICS_AUTH)
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(body.decode()) for s in f.samples}


@pytest.mark.e2e
def test_a_full_quota_refuses_the_share_and_each_ending_frees_room(sim, slack, redis_sync,
                                                                   capped):
    """Two shares fill Alice's quota: /share-secret then says so instead of opening the
    form, and a form opened earlier is refused with a clear message, storing and sending
    nothing. Revoking one, burning one by its last view and the sweep expiring one each
    let exactly one more share through; /metrics shows the use."""
    forms = [open_form(sim) for _ in range(4)]
    first = share(sim, "quota secret one")
    share(sim, "quota secret two", recipients=(EVE,))
    assert len(ciphertexts(redis_sync)) == 2
    reveal_messages = len(slack.calls_to("chat.postMessage"))

    command = sim.slash_command(ALICE, GENERAL)
    answer = command.json()
    assert answer["response_type"] == "ephemeral"
    assert FULL in answer["text"]
    assert not [c for c in slack.calls_to("views.open")
                if c.params.get("trigger_id") == command.trigger_id]
    message = refused(sim, forms[0], "quota secret three")
    assert message.startswith(FULL)
    assert "/share-secret list" in message
    settle(slack)
    assert len(ciphertexts(redis_sync)) == 2
    assert len(slack.calls_to("chat.postMessage")) == reveal_messages  # nothing sent
    samples = scrape(capped)
    assert samples[("share_secret_quota_use_ratio", (("scope", "sender"),))] == 1.0
    assert samples[("share_secret_quota_refusals_total",
                    (("limit", "secrets"), ("scope", "sender")))] == 2

    # Revoked: room for one more, and only one.
    assert sim.slash_command(ALICE, GENERAL, f"revoke {first}").status == 200
    assert len(ciphertexts(redis_sync)) == 1
    share(sim, "quota secret four")
    assert refused(sim, forms[1], "quota secret five").startswith(FULL)

    # Burned by its last view: Bob opens "four", his only view of it.
    message, button = sim.find_prompts(BOB)[-1]
    assert sim.shown_view(sim.click(BOB, message, button).trigger_id) is not None
    held = KeySpace("ss").quota_held(f"{sim.team_id}:{ALICE}")
    deadline = time.monotonic() + 5  # given back just after the view is confirmed
    while redis_sync.zcard(held) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ciphertexts(redis_sync)) == 1
    share(sim, "quota secret six")
    assert refused(sim, forms[2], "quota secret seven").startswith(FULL)

    # Expired by the sweep: both held secrets' time comes; both rooms come back.
    make_due(redis_sync)
    deadline = time.monotonic() + 5
    while redis_sync.zcard("ss:expiries") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis_sync.zcard("ss:expiries") == 0
    share(sim, "quota secret eight")
    share(sim, "quota secret nine")
    assert refused(sim, forms[3], "quota secret ten").startswith(FULL)
    samples = scrape(capped)
    assert samples[("share_secret_quota_refusals_total",
                    (("limit", "secrets"), ("scope", "sender")))] == 5


@pytest.mark.e2e
def test_other_senders_keep_their_own_room(sim, slack, redis_sync):
    """Alice's full quota does not touch Bob's."""
    form = open_form(sim)
    share(sim, "alice one")
    share(sim, "alice two")
    assert refused(sim, form, "alice three").startswith(FULL)
    command = sim.slash_command(BOB, GENERAL)
    reply = sim.submit(BOB, sim.opened_view(command.trigger_id), recipients=[ALICE],
                       secret="bob's own")
    assert reply.status == 200
    assert reply.body == b""


# -- the store on a real Redis ------------------------------------------------------------

EACH_ONCE = ViewLimit(ViewMode.EACH_ONCE)


def record(n: int, *, now: float, lifetime: float = 3600, sender: str = ALICE,
           team: str = "T0ACME", recipients: tuple[str, ...] = (BOB,),
           label: str | None = None,
           views: ViewLimit = EACH_ONCE) -> SecretRecord:
    code = f"Q{n:011d}"
    return SecretRecord(
        secret_id=code + "0" * 14, code=code, team_id=team, sender_id=sender,
        recipients=recipients, created_at=now, expires_at=now + lifetime,
        origin_channel=None, label=label, format=Format.TEXT, view_limit=views,
        has_passphrase=False, notify=True)


def assert_sums_match(redis_sync, team: str = "T0ACME") -> int:
    """Each sender's and the workspace's sums are those of the secrets held and of the
    ended secrets' metadata kept (sizes packed below the time in each score, in units of
    SIZE_UNIT bytes: a held secret's kept part and the rest, a kept one's kept part), and
    the workspace indexes each sender with either by the earliest time in both; returns
    how many secrets are held (active)."""
    keys = KeySpace("ss")
    count = size = 0
    indexed = {owner.decode(): int(at) for owner, at in redis_sync.zrange(
        keys.quota_senders(team), 0, -1, withscores=True)}
    owners = {key.decode().split(":")[-2] for pattern in ("held", "kept")
              for key in redis_sync.scan_iter(match=f"ss:quota:{{quota}}:{team}:*:{pattern}")}
    assert set(indexed) == {f"{team}:{owner}" for owner in owners}
    for owner, at in indexed.items():
        held = [int(s) for _, s in redis_sync.zrange(keys.quota_held(owner), 0, -1,
                                                     withscores=True)]
        kept = [int(s) for _, s in redis_sync.zrange(keys.quota_kept(owner), 0, -1,
                                                     withscores=True)]
        assert at == min(s // SIZE_SPAN for s in held + kept)
        sender = SIZE_UNIT * (sum((s % SIZE_SPAN) // SIZE_PART + s % SIZE_PART for s in held)
                              + sum(s % SIZE_SPAN for s in kept))
        assert int(redis_sync.hget(keys.quota_sizes(owner), "*") or 0) == sender
        count, size = count + len(held), size + sender
    sums = redis_sync.hgetall(keys.quota_sizes(team))
    assert (int(sums.get(b"n", 0)), int(sums.get(b"*", 0))) == (count, size)
    return count


@pytest.fixture
async def store_with(redis_url, redis_sync):
    """Makes a store on a real Redis whose quota has the caps given (metadata kept an hour
    after a secret ends)."""
    clients = []

    def make(caps: Caps) -> tuple[RedisSecretStore, RedisQuota]:
        client = connect(redis_url)
        clients.append(client)
        quota = RedisQuota(client, keys=KeySpace("ss"), caps=caps)
        return RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring_of_test_keys(),
                                metadata_retention_seconds=3600, quota=quota), quota

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def capped_store(redis_url, redis_sync):
    client = connect(redis_url)
    keys = KeySpace("ss")
    quota = RedisQuota(client, keys=keys, caps=Caps(sender_secrets=3, sender_bytes=1 << 20,
                                                    workspace_secrets=5))
    yield RedisSecretStore(client, keys=keys, keyring=keyring_of_test_keys(),
                           metadata_retention_seconds=3600, quota=quota), \
        quota
    await client.aclose()


async def test_a_lapsed_secret_frees_its_room_without_the_sweep(capped_store, redis_sync):
    """Nothing ends a secret whose time passed (no sweep ran): its room comes back at its
    expiry time all the same, so use cannot drift upward for good."""
    store, quota = capped_store
    now = time.time()
    for n in range(3):
        await store.create(record(n, now=now, lifetime=60), b"x" * 40, now=now)
    with pytest.raises(QuotaExceeded) as refusal:
        await store.create(record(3, now=now), b"x" * 40, now=now)
    assert (refusal.value.scope, refusal.value.limit, refusal.value.held_secrets) == \
        ("sender", "secrets", 3)
    assert redis_sync.exists("ss:{Q00000000003}:m") == 0
    later = now + 61
    await store.create(record(4, now=later), b"x" * 40, now=later)
    use = await quota.highest_use()
    assert use["sender"] == pytest.approx(1 / 3)
    assert use["workspace"] == pytest.approx(1 / 5)
    assert_sums_match(redis_sync)


async def test_concurrent_shares_never_pass_the_caps(capped_store, redis_sync):
    """Twenty shares at once by four senders in one workspace (cap 5): exactly five are
    stored, and the counts and bytes match what is stored."""
    store, quota = capped_store
    now = time.time()
    senders = ["U0A", "U0B", "U0C", "U0D"]

    async def one(n: int) -> bool:
        try:
            await store.create(record(n, now=now, sender=senders[n % 4]), b"y" * 100, now=now)
        except QuotaExceeded:
            return False
        return True

    stored = await asyncio.gather(*(one(n) for n in range(20)))
    assert sum(stored) == 5
    assert len(list(redis_sync.scan_iter(match="ss:{*}:c"))) == 5
    assert assert_sums_match(redis_sync) == 5
    assert (await quota.highest_use())["workspace"] == 1.0


async def test_another_senders_lapsed_secrets_free_the_workspace(capped_store, redis_sync):
    """The workspace counts its senders' sums, not a set of every secret: when one
    sender's secrets lapse and that sender never comes back, the workspace's room still
    returns at their expiry time, for anyone's next share; and the bytes their metadata
    keeps go once its retention has passed too (an hour here), with the sender's entry in
    the workspace's index."""
    store, _ = capped_store
    now = time.time()
    for n in range(3):
        await store.create(record(n, now=now, lifetime=60), b"x" * 40, now=now)
    for n in range(3, 5):
        await store.create(record(n, now=now, sender="U0B"), b"x" * 40, now=now)
    with pytest.raises(QuotaExceeded) as refusal:
        await store.create(record(5, now=now, sender="U0C"), b"x" * 40, now=now)
    assert (refusal.value.scope, refusal.value.held_secrets) == ("workspace", 5)
    later = now + 61
    for n in range(5, 8):
        await store.create(record(n, now=later, sender="U0C"), b"x" * 40, now=later)
    assert assert_sums_match(redis_sync) == 5
    keys = KeySpace("ss")
    senders = redis_sync.zrange(keys.quota_senders("T0ACME"), 0, -1)
    assert sorted(senders) == [b"T0ACME:U0ALICE", b"T0ACME:U0B", b"T0ACME:U0C"]
    assert redis_sync.zcard(keys.quota_kept("T0ACME:U0ALICE")) == 3  # her records, kept
    gone = now + 61 + 3600 + 1
    await store.create(record(8, now=gone, sender="U0D"), b"x" * 40, now=gone)
    assert b"T0ACME:U0ALICE" not in redis_sync.zrange(
        keys.quota_senders("T0ACME"), 0, -1)
    assert not redis_sync.exists(keys.quota_kept("T0ACME:U0ALICE"),
                                 keys.quota_sizes("T0ACME:U0ALICE"))
    assert redis_sync.zscore(keys.quota_use("sender"), "T0ACME:U0ALICE") is None  # metric
    assert_sums_match(redis_sync)


# -- ended secrets' metadata: counted against the bytes caps while it is kept -------------

EVERYONE = tuple(f"U{n:010d}" for n in range(128))  # the most recipients a share may name


def kept_metadata(redis_sync) -> list[bytes]:
    """The metadata hashes in Redis of secrets that have ended."""
    return [key for key in redis_sync.scan_iter(match="ss:{*}:m")
            if redis_sync.hget(key, "st") != b"active"]


async def test_ended_secrets_metadata_fills_the_bytes_cap_until_its_retention_passes(
        store_with, redis_sync):
    """The review's attack: a member shares the largest secrets (128 recipients, a label)
    and ends each at once, revoking it or burning it with its one view, so that it gives
    its room back while its metadata stays for the retention. The cap of 3 active secrets
    never binds; the bytes cap does, counting the metadata kept: the next share is refused
    with the bytes message while nothing is active, and room comes back only once the
    retention has passed."""
    store, quota = store_with(Caps(sender_secrets=3, sender_bytes=200_000))
    now = time.time()
    shared, over = 0, None
    for n in range(20):
        secret = record(n, now=now, recipients=EVERYONE, label="L" * 60,
                        views=ViewLimit(ViewMode.TOTAL, 1))
        try:
            await store.create(secret, b"x" * 3000, now=now)
        except QuotaExceeded as refused:
            over = refused
            break
        shared += 1
        if n % 2:
            assert (await store.claim(secret.secret_id, user_id=EVERYONE[5],
                                      team_id="T0ACME", now=now)).outcome == "claimed"
            assert (await store.confirm(secret.secret_id, user_id=EVERYONE[5],
                                        now=now))[0] == "burned"
        else:
            assert (await store.end(secret.secret_id, status=Status.REVOKED,
                                    now=now))[0] == "active"
    assert over is not None, f"all {shared} shares were accepted"
    assert (over.scope, over.limit, over.held_secrets) == ("sender", "bytes", 0)
    assert 3 < shared < 20
    assert 200_000 - 25_000 < over.held_bytes <= 200_000  # a share counts under 25 KB
    assert "Your secrets take up" in render.share_over_quota(over)
    assert len(kept_metadata(redis_sync)) == shared  # what the bytes held stand for
    assert redis_sync.zcard(KeySpace("ss").quota_kept("T0ACME:U0ALICE")) == shared
    assert assert_sums_match(redis_sync) == 0
    assert (await quota.highest_use())["sender"] > 0.85
    assert redis_sync.exists(f"ss:{{Q{shared:011d}}}:m") == 0  # the refused one: nothing

    # Still refused a little before the retention (an hour here) has passed; then the
    # metadata is gone from Redis and from the count.
    almost = now + 3600 - 5
    with pytest.raises(QuotaExceeded):
        await store.create(record(30, now=almost, recipients=EVERYONE, label="L" * 60),
                           b"x" * 3000, now=almost)
    later = now + 3600 + 2
    await store.create(record(31, now=later, recipients=EVERYONE, label="L" * 60),
                       b"x" * 3000, now=later)
    assert assert_sums_match(redis_sync) == 1
    assert not redis_sync.exists(KeySpace("ss").quota_kept("T0ACME:U0ALICE"))


async def test_the_count_cap_is_of_active_secrets_only(capped_store, redis_sync):
    """Ended secrets whose metadata is kept (and counted in bytes) never count as active
    secrets: a sender with a long history still has all their room for active ones, and
    the cap of 3 binds at the fourth active secret."""
    store, _ = capped_store
    now = time.time()
    for n in range(10):
        await store.create(record(n, now=now), b"x" * 40, now=now)
        await store.end(record(n, now=now).secret_id, status=Status.REVOKED, now=now)
    await store.ensure_room(team_id="T0ACME", sender_id=ALICE, now=now)
    for n in range(10, 13):
        await store.create(record(n, now=now), b"x" * 40, now=now)
    with pytest.raises(QuotaExceeded) as refusal:
        await store.create(record(13, now=now), b"x" * 40, now=now)
    assert (refusal.value.limit, refusal.value.held_secrets) == ("secrets", 3)
    assert assert_sums_match(redis_sync) == 3
    assert redis_sync.zcard(KeySpace("ss").quota_kept("T0ACME:U0ALICE")) == 10


async def test_a_lapsed_secret_keeps_its_metadata_counted_from_its_expiry(capped_store,
                                                                         redis_sync):
    """A secret nothing ended (no sweep ran) gives back all but its metadata's part at its
    expiry time, which stays counted until the retention after it; the sweep ending it
    later counts that part from then, as its metadata's TTL now runs from then."""
    store, _ = capped_store
    keys = KeySpace("ss")
    now = time.time()
    await store.create(record(0, now=now, lifetime=60), b"x" * 3000, now=now)
    total = int(redis_sync.hget(keys.quota_sizes("T0ACME"), "*"))
    later = now + 61
    await store.ensure_room(team_id="T0ACME", sender_id=ALICE, now=later)  # prunes
    kept = int(redis_sync.hget(keys.quota_sizes("T0ACME"), "*"))
    assert 0 < kept < total - 3000
    assert assert_sums_match(redis_sync) == 0
    [(_, score)] = redis_sync.zrange(keys.quota_kept("T0ACME:U0ALICE"), 0, -1,
                                     withscores=True)
    assert int(score) // SIZE_SPAN == int(now + 60) + 1 + 3600

    swept = now + 90
    assert await store.end_many([record(0, now=now).secret_id], status=Status.EXPIRED,
                                now=swept) == ["active"]
    [(_, score)] = redis_sync.zrange(keys.quota_kept("T0ACME:U0ALICE"), 0, -1,
                                     withscores=True)
    assert int(score) // SIZE_SPAN == int(swept) + 1 + 3600
    assert int(redis_sync.hget(keys.quota_sizes("T0ACME"), "*")) == kept
    assert_sums_match(redis_sync)
    await store.ensure_room(team_id="T0ACME", sender_id=ALICE, now=swept + 3602)
    assert not redis_sync.exists(keys.quota_sizes("T0ACME"),
                                 keys.quota_kept("T0ACME:U0ALICE"),
                                 keys.quota_senders("T0ACME"))


async def test_a_withdrawn_share_keeps_nothing(capped_store, redis_sync):
    """A share called off (its metadata removed with it) gives back all its room: only a
    secret that ended leaves its metadata, and its bytes, behind."""
    store, _ = capped_store
    now = time.time()
    secret = record(0, now=now)
    await store.create(secret, b"x" * 40, now=now)
    assert await store.withdraw(secret)
    assert not list(redis_sync.scan_iter(match="ss:quota:{quota}:T0ACME*"))
