"""Secret lifecycle at the service level, against a real Redis, with a clock we move."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from bot.domain import EndOutcome, RevealOutcome, ShareForm, StaleOutcome, Status
from bot.errors import ValidationFailed
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.reveal import PassphrasePolicy
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, RedisSecretStore, connect
from devtools.harness.bot_process import REPO
from devtools.harness.clock import FakeClock
from tests.conftest import keyring_of_test_keys, redis_contents, stored_secrets

SECRET = "s3cr3t-value-for-lifecycle"


class People:
    async def not_people(self, user_ids):
        return {}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(store, keyring, clock):
    return SharingService(store=store, keyring=keyring, clock=clock,
                          passphrases=PassphrasePolicy(tries=5, window=600, lock=1))


@pytest.fixture
def lifecycle(store, clock):
    return LifecycleService(store=store, clock=clock)


def form(**changes) -> ShareForm:
    values = {"team_id": "T1", "sender_id": "UALICE", "recipients": ("UBOB",), "text": SECRET}
    values.update(changes)
    return ShareForm(**values)


async def reveal(service, record, user="UBOB", passphrase=None, shown=None):
    async def show(plaintext, claim):
        if shown is not None:
            shown.append(plaintext)
    return await service.reveal(secret_id=record.secret_id, user_id=user, team_id="T1",
                                show=show, passphrase=passphrase)


# -- expiry -----------------------------------------------------------------------------

@pytest.mark.parametrize(("custom", "seconds"), [("5m", 300), ("90 minutes", 5400),
                                                 ("12h", 43200), ("30d", 2592000)])
async def test_custom_expiry_within_bounds_sets_the_ttl(service, redis_sync, custom, seconds):
    """Custom expiries from 5 minutes to 30 days are accepted and become the Redis TTL."""
    record = await service.share(form(custom_expiry=custom), people=People())
    assert record.expires_at - record.created_at == seconds
    assert seconds - 5 <= redis_sync.ttl(KeySpace("ss").ciphertext(record.secret_id)) <= seconds


@pytest.mark.parametrize("custom", ["4m", "299s", "31d", "soon", "0h", "-5m"])
async def test_custom_expiry_out_of_bounds_is_refused(service, redis_sync, custom):
    """Anything shorter than 5 minutes, longer than 30 days or unreadable is refused."""
    with pytest.raises(ValidationFailed) as caught:
        await service.share(form(custom_expiry=custom), people=People())
    assert "5 minutes and 30 days" in caught.value.errors["custom_expiry"]
    assert stored_secrets(redis_sync) == []


# -- view limits ------------------------------------------------------------------------

async def test_total_of_one_view_is_burned_after_one(service, store):
    """A total of 1 view: the first reveal burns it, whoever the recipient."""
    record = await service.share(form(recipients=("UBOB", "UCAROL"), view_mode="total",
                                      total_views="1"), people=People())
    assert (await reveal(service, record, "UCAROL")).last_view
    assert (await reveal(service, record, "UBOB")).outcome is RevealOutcome.UNAVAILABLE
    assert (await store.get(record.secret_id)).status is Status.BURNED


async def test_total_views_are_shared_and_may_repeat(service, store):
    """A total of 3 views can be used by one recipient three times; the 4th is refused."""
    record = await service.share(form(view_mode="total", total_views="3"), people=People())
    results = [await reveal(service, record) for _ in range(4)]
    assert [r.outcome for r in results[:3]] == [RevealOutcome.REVEALED] * 3
    assert [r.views_used for r in results[:3]] == [1, 2, 3]
    assert results[2].last_view
    assert results[3].outcome is RevealOutcome.UNAVAILABLE


@pytest.mark.parametrize(("total", "ok"), [("1", True), ("1000", True), ("0", False),
                                           ("1001", False), ("", False), ("2.5", False),
                                           ("²", False), ("١٢", False)])
async def test_total_view_bounds(service, total, ok):
    """Totals from 1 to 1000 are accepted; anything else is refused on its field."""
    attempt = service.share(form(view_mode="total", total_views=total), people=People())
    if ok:
        record = await attempt
        assert record.views_allowed == int(total)
    else:
        with pytest.raises(ValidationFailed) as caught:
            await attempt
        assert "1 to 1000" in caught.value.errors["total_views"]


async def test_total_of_1000_concurrent_views_is_exact(redis_url, redis_sync, keyring, clock,
                                                       monkeypatch):
    """With a total of 1000, 1000 concurrent reveals succeed and the 1001st does not.

    What is checked is the count, not how long Redis takes: on a CPU-starved machine the
    bot's bounds on waiting (a free connection within 1 s, a store operation within
    1.5 s) would refuse some clicks as "unreachable" (tested on their own elsewhere). So
    each clicker has a connection of its own and operations may take longer here."""
    from bot.storage import faults

    monkeypatch.setattr(faults, "OPERATION_SECONDS", 30.0)
    client = connect(redis_url, max_connections=100)
    store = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring,
                             metadata_retention_seconds=3600)
    service = SharingService(store=store, keyring=keyring, clock=clock)
    recipients = tuple(f"U{i:04}" for i in range(100))
    record = await service.share(form(recipients=recipients, view_mode="total",
                                      total_views="1000"), people=People())
    async def eleven_clicks(user: str) -> list:
        # One person's clicks follow each other (a second click while the first is
        # being shown gets nothing); the 100 people click all at once.
        return [await reveal(service, record, user) for _ in range(11)]

    per_user = await asyncio.gather(*(eleven_clicks(u) for u in recipients))
    results = [r for clicks in per_user for r in clicks]
    revealed = [r for r in results if r.outcome is RevealOutcome.REVEALED]
    assert len(revealed) == 1000
    assert sum(r.last_view for r in revealed) == 1
    await client.aclose()


async def test_unlimited_views_until_expiry(service, lifecycle, clock):
    """Unlimited: any number of views, until the sweep expires it."""
    record = await service.share(form(view_mode="unlimited"), people=People())
    for _ in range(5):
        assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    clock.advance(86400 + 1)
    assert (await reveal(service, record)).outcome is RevealOutcome.UNAVAILABLE
    assert [r.secret_id for r in await lifecycle.sweep_expired()] == [record.secret_id]


# -- formats ----------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "text", "words"), [
    ("json", '{"user": "admin",\n "password": }', "line 2"),
    ("yaml", "user: admin\npassword: [unclosed\n", "line 3"),
    ("env", "# creds\nexport DB_USER=admin\nthis line is wrong\n", "line 3"),
    ("env", 'TOKEN="abc\n', "line 1 has an unclosed"),
    ("json", '{"a": 1, "a": 2}', "a key appears twice"),
    ("json", '{"a": NaN}', "NaN is not allowed"),
    # Hostile nesting is refused before it is parsed (it crashed the json parser, and held
    # PyYAML's for a second); an impossible date is a YAML error like any other.
    ("json", "[" * 3000, "nested more than 64 levels"),
    ("json", '{"a":' * 600, "nested more than 64 levels"),
    ("yaml", "{" * 3000, "nested more than 64 levels"),
    ("yaml", "- " * 1500, "Not valid YAML"),
    ("yaml", "when: 2001-02-30", "Not valid YAML"),
])
async def test_bad_structured_secrets_name_the_line(service, redis_sync, fmt, text, words):
    """Invalid JSON, YAML or .env is refused on the secret field, naming the line."""
    with pytest.raises(ValidationFailed) as caught:
        await service.share(form(format=fmt, text=text), people=People())
    assert words in caught.value.errors["secret"]
    assert stored_secrets(redis_sync) == []


@pytest.mark.parametrize(("fmt", "text", "shown"), [
    ("json", '{"user":"admin","password":"p@ss"}',
     '{\n  "user": "admin",\n  "password": "p@ss"\n}'),
    ("yaml", "user: admin\npassword: p@ss\n", "user: admin\npassword: p@ss"),
    ("json", '{"version": 1.10, "key": "k"}', '{"version": 1.10, "key": "k"}'),
    ("env", "# prod\nexport DB_USER=admin\n\nDB_PASS='p@ss word' # note\nX=1 # c\n",
     "# prod\nexport DB_USER=admin\n\nDB_PASS='p@ss word' # note\nX=1 # c"),
])
async def test_structured_secrets_are_shown_faithfully(service, fmt, text, shown):
    """Valid JSON is pretty-printed when that cannot change a value (no floats); YAML and
    .env are checked but shown exactly as typed (comments and `export` included)."""
    record = await service.share(form(format=fmt, text=text), people=People())
    seen: list[str] = []
    await reveal(service, record, shown=seen)
    assert seen == [shown]


# -- passphrases ------------------------------------------------------------------------

async def test_passphrase_right_wrong_lockout_unlock(service, store, redis_sync):
    """Wrong passphrases never use the view; five lock it; after the lock it opens."""
    record = await service.share(form(passphrase="correct horse"), people=People())
    assert (await reveal(service, record)).outcome is RevealOutcome.NEEDS_PASSPHRASE
    tries = [await reveal(service, record, passphrase=f"wrong {i}") for i in range(4)]
    assert [t.tries_left for t in tries] == [4, 3, 2, 1]
    fifth = await reveal(service, record, passphrase="wrong again")
    assert fifth.outcome is RevealOutcome.LOCKED
    assert fifth.tries_left == 0
    locked = await reveal(service, record, passphrase="correct horse")
    assert locked.outcome is RevealOutcome.LOCKED
    await asyncio.sleep(1.1)  # the test policy locks for one second
    shown: list[str] = []
    opened = await reveal(service, record, passphrase=" correct horse\n", shown=shown)
    assert opened.outcome is RevealOutcome.REVEALED
    assert shown == [SECRET]
    contents = redis_contents(redis_sync)
    assert not [v for v in contents if b"correct horse" in v or SECRET.encode() in v]


async def test_right_passphrases_use_no_tries_and_concurrent_guesses_are_capped(
        service, redis_sync):
    """Each guess is counted before it is checked and a right one is uncounted after: with
    views to spare, right guesses cost no tries; and guesses made at once by many people
    get no more checks than the policy allows."""
    record = await service.share(form(passphrase="correct horse", view_mode="unlimited",
                                      recipients=tuple(f"U{i}" for i in range(8))),
                                 people=People())
    assert [(await reveal(service, record, user="U0", passphrase=f"no {i}")).tries_left
            for i in range(3)] == [4, 3, 2]
    for _ in range(3):
        assert (await reveal(service, record, user="U0",
                             passphrase="correct horse")).outcome is RevealOutcome.REVEALED
    guesses = KeySpace("ss").guesses(record.secret_id)
    assert redis_sync.zcard(guesses) == 3  # the wrong ones only
    results = await asyncio.gather(*(reveal(service, record, user=f"U{i}",
                                            passphrase=f"wrong {i}") for i in range(8)))
    # 2 more fit in the window (the second wrong one locks it); the other 6 are refused
    # while those 2 are being checked.
    assert sorted((r.outcome.value, r.tries_left) for r in results) == [
        *[("guesses_pending", None)] * 6, ("locked", 0), ("wrong_passphrase", 1)]


async def test_wrong_passphrases_counted_by_an_earlier_release_still_count(service,
                                                                           redis_sync):
    """An upgrade forgets no wrong passphrase: the plain counter earlier releases kept is
    still read, so with 4 of them the next wrong guess locks the secret."""
    record = await service.share(form(passphrase="correct horse"), people=People())
    redis_sync.set(KeySpace("ss").failures(record.secret_id), 4, px=600_000)
    result = await reveal(service, record, passphrase="wrong")
    assert (result.outcome, result.tries_left) == (RevealOutcome.LOCKED, 0)
    assert not redis_sync.exists(KeySpace("ss").failures(record.secret_id))


async def test_passphrase_is_needed_even_with_the_master_key(service, store, keyring):
    """Redis contents plus the master key alone cannot decrypt a passphrase secret."""
    from bot import crypto
    from bot.errors import InvalidToken

    record = await service.share(form(passphrase="tr0ub4dor"), people=People())
    claim = await store.claim(record.secret_id, user_id="UBOB", team_id="T1", now=time.time())
    with pytest.raises(InvalidToken):
        crypto.decrypt(claim.ciphertext, record_id=record.secret_id, keyring=keyring)
    with pytest.raises(InvalidToken):
        crypto.decrypt(claim.ciphertext, record_id=record.secret_id, keyring=keyring,
                       passphrase="")


@pytest.mark.parametrize("passphrase", ["abc", "seven c", " 7chars\n", "x" * 201])
async def test_passphrase_length_is_checked(service, passphrase):
    """A passphrase of 8 to 200 characters (around white space) is required when one is
    given."""
    with pytest.raises(ValidationFailed) as caught:
        await service.share(form(passphrase=passphrase), people=People())
    assert "8 to 200" in caught.value.errors["passphrase"]


# -- revoke, find, list -----------------------------------------------------------------

async def test_a_view_claimed_before_its_secret_ended_is_not_shown(service, lifecycle, store,
                                                                   redis_sync, clock):
    """The step that marks a claimed view as being shown refuses once the secret has been
    revoked, or has expired, since the claim, and gives the view back."""
    keys = KeySpace("ss")
    revoked = await service.share(form(), people=People())
    expiring = await service.share(form(custom_expiry="5m"), people=People())
    for record in (revoked, expiring):
        claim = await store.claim(record.secret_id, user_id="UBOB", team_id="T1",
                                  now=clock.now)
        assert claim.outcome == "claimed"
    await lifecycle.revoke(team_id="T1", user_id="UALICE", code=revoked.code)
    assert not await store.showing(revoked.secret_id, user_id="UBOB", now=clock.now)
    assert not await store.showing(expiring.secret_id, user_id="UBOB",
                                   now=expiring.expires_at)
    for record in (revoked, expiring):
        meta = keys.meta(record.secret_id)
        assert redis_sync.hget(meta, "r:UBOB") == b"0"
        assert redis_sync.hget(meta, "claims") == b"0"
    assert redis_sync.zcard(keys.claims()) == 0
    # Before its expiry the claim is marked as usual.
    await store.claim(expiring.secret_id, user_id="UBOB", team_id="T1", now=clock.now)
    assert await store.showing(expiring.secret_id, user_id="UBOB", now=clock.now)


async def test_revoke_deletes_at_once_and_only_for_the_sender(service, lifecycle, store,
                                                               redis_sync):
    """Only the sender can revoke; afterwards the ciphertext is gone and reveals refused."""
    record = await service.share(form(label="Staging DB"), people=People())
    stranger = await lifecycle.revoke(team_id="T1", user_id="UEVE", code=record.code)
    assert stranger.record is None
    done = await lifecycle.revoke(team_id="T1", user_id="UALICE",
                                  code=record.code.lower().replace("-", " "))
    assert done.revoked
    assert done.record.status is Status.REVOKED
    assert done.record.ended_by == "UALICE"
    assert not redis_sync.exists(KeySpace("ss").ciphertext(record.secret_id))
    assert (await reveal(service, record)).outcome is RevealOutcome.UNAVAILABLE
    again = await lifecycle.revoke(team_id="T1", user_id="UALICE", secret_id=record.secret_id)
    assert again.revoked is False
    assert again.previous is EndOutcome.REVOKED


async def test_revoke_racing_a_reveal_ends_cleanly(service, lifecycle, store, redis_sync):
    """Revoke and reveal at once, 40 times: one wins each time and nothing is half done."""
    outcomes = set()
    for _ in range(40):
        record = await service.share(form(), people=People())
        revealed, revoked = await asyncio.gather(
            reveal(service, record),
            lifecycle.revoke(team_id="T1", user_id="UALICE", secret_id=record.secret_id))
        after = await store.get(record.secret_id)
        raw = redis_sync.hgetall(KeySpace("ss").meta(record.secret_id))
        assert raw.get(b"claims", b"0") == b"0"
        assert not redis_sync.exists(KeySpace("ss").ciphertext(record.secret_id))
        if revealed.outcome is RevealOutcome.REVEALED:
            # The reveal claimed first; a revoke that came after it found it burned, or
            # revoked it while the view was being shown: then it says so.
            assert after.status in (Status.BURNED, Status.REVOKED)
            if after.status is Status.REVOKED:
                assert revoked.in_flight == 1
        else:
            assert revealed.outcome is RevealOutcome.UNAVAILABLE
            assert revoked.revoked
            assert after.status is Status.REVOKED
        outcomes.add((revealed.outcome, revoked.previous))
    assert len(outcomes) >= 1


async def test_list_shows_the_senders_own_secrets(service, lifecycle):
    """A sender's list holds their secrets, newest first, and nobody else's."""
    first = await service.share(form(label="one"), people=People())
    second = await service.share(form(label="two"), people=People())
    await service.share(form(sender_id="UCAROL"), people=People())
    listed = await lifecycle.sent_by(team_id="T1", user_id="UALICE")
    assert {r.secret_id for r in listed} == {first.secret_id, second.secret_id}


# -- sweeps and retention ---------------------------------------------------------------

async def test_sweep_expires_what_is_due_and_nothing_else(service, lifecycle, clock, store,
                                                          redis_sync):
    """The sweep marks due secrets expired, deletes their ciphertext, leaves the rest."""
    short = await service.share(form(expiry_seconds="3600"), people=People())
    long = await service.share(form(expiry_seconds="86400"), people=People())
    assert await lifecycle.sweep_expired() == []
    clock.advance(3601)
    expired = await lifecycle.sweep_expired()
    assert [r.secret_id for r in expired] == [short.secret_id]
    assert expired[0].status is Status.EXPIRED
    assert not redis_sync.exists(KeySpace("ss").ciphertext(short.secret_id))
    assert (await store.get(long.secret_id)).status is Status.ACTIVE
    assert await lifecycle.sweep_expired() == []


async def test_reminder_is_due_once_for_unread_secrets(service, lifecycle, clock):
    """An unread secret is due for one reminder an hour before it expires."""
    unread = await service.share(form(expiry_seconds="86400"), people=People())
    read = await service.share(form(expiry_seconds="86400"), people=People())
    await reveal(service, read)
    clock.advance(86400 - 3599)
    assert [r.secret_id for r in await lifecycle.due_reminders()] == [unread.secret_id]
    assert await lifecycle.due_reminders() == []


SWEEP_IN_A_PROCESS = """
import asyncio, json, sys
import redis.asyncio as aioredis
from bot.secrets.lifecycle import LifecycleService
from bot.storage import KeySpace, RedisSecretStore, connect
from bot.crypto import MasterKey, StaticKeyRing

async def main():
    client = aioredis.from_url(sys.argv[1])
    store = RedisSecretStore(client, keys=KeySpace("ss"),
                             keyring=StaticKeyRing([MasterKey("k1", bytes(range(32)))]),
                             metadata_retention_seconds=3600)
    service = LifecycleService(store=store, clock=lambda: float(sys.argv[2]))
    ended = []
    while batch := await service.sweep_expired(limit=50):
        ended += [r.secret_id for r in batch]
    print(json.dumps(ended))
    await client.aclose()

asyncio.run(main())
"""


async def test_two_processes_sweeping_at_once_expire_each_secret_once(service, clock,
                                                                       redis_url):
    """Two sweeper processes on one Redis: every expiry is handled, and exactly once."""
    records = [await service.share(form(expiry_seconds="3600"), people=People())
               for _ in range(300)]
    later = str(clock.now + 3601)
    procs = [subprocess.Popen([sys.executable, "-c", SWEEP_IN_A_PROCESS, redis_url, later],
                              stdout=subprocess.PIPE, cwd=REPO) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert not set(results[0]) & set(results[1])
    assert set(results[0]) | set(results[1]) == {r.secret_id for r in records}


async def test_retention_removes_metadata_after_the_end(keyring, clock, redis_url, redis_sync):
    """Ended secrets keep metadata for the retention period only; then Redis drops it."""
    client = connect(redis_url)
    store = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring,
                             metadata_retention_seconds=1)
    service = SharingService(store=store, keyring=keyring, clock=clock)
    record = await service.share(form(), people=People())
    meta = KeySpace("ss").meta(record.secret_id)
    assert redis_sync.pttl(meta) > 86400 * 1000
    await reveal(service, record)  # burns it: metadata now lives for the retention only
    assert 0 < redis_sync.pttl(meta) <= 1000
    assert (await store.get(record.secret_id)).status is Status.BURNED
    await asyncio.sleep(1.1)
    assert await store.get(record.secret_id) is None
    await client.aclose()


async def test_admin_browse_by_sender_reads_the_senders_own_index(service, lifecycle,
                                                                   monkeypatch):
    """Filtering by sender finds their secrets however many newer ones others shared."""
    import bot.secrets.lifecycle

    for _ in range(3):
        await service.share(form(sender_id="UBOB2"), people=People())
    for _ in range(30):
        await service.share(form(), people=People())
    monkeypatch.setattr(bot.secrets.lifecycle, "BROWSE_SCAN_LIMIT", 10)
    records, has_next = await lifecycle.browse(team_id="T1", sender_id="UBOB2")
    assert len(records) == 3
    assert not has_next
    everyone, more = await lifecycle.browse(team_id="T1", page_size=5)
    assert len(everyone) == 5
    assert more


async def test_views_claimed_by_a_dead_process_are_given_back_once(service, lifecycle, store,
                                                                    clock, redis_url,
                                                                    redis_sync, keyring):
    """A view handed out and never confirmed (the process died mid-reveal) is given back
    after two minutes, by exactly one sweeper; confirmed and recent views are not."""
    crashed = await service.share(form(), people=People())
    finished = await service.share(form(), people=People())
    await store.claim(crashed.secret_id, user_id="UBOB", team_id="T1", now=clock.now)
    assert (await reveal(service, finished)).outcome is RevealOutcome.REVEALED
    assert redis_sync.zcard("ss:claims") == 1  # the confirmed one left the index
    assert await lifecycle.return_stale_claims() == []  # too recent
    assert (await reveal(service, crashed)).outcome is RevealOutcome.IN_FLIGHT
    clock.advance(121)
    other = connect(redis_url)
    second = LifecycleService(store=RedisSecretStore(other, keys=KeySpace("ss"),
                                                     keyring=keyring_of_test_keys(),
                                                     metadata_retention_seconds=3600),
                              clock=clock)
    first_pass, second_pass = await asyncio.gather(lifecycle.return_stale_claims(),
                                                   second.return_stale_claims())
    returned = first_pass + second_pass
    assert [(r.secret_id, user, outcome) for r, user, outcome, _ in returned] == [
        (crashed.secret_id, "UBOB", StaleOutcome.RETURNED)]
    assert all(type(outcome) is StaleOutcome for _, _, outcome, _ in returned)
    assert redis_sync.zcard("ss:claims") == 0
    later = SharingService(store=store, keyring=keyring, clock=clock)
    assert (await reveal(later, crashed)).outcome is RevealOutcome.REVEALED
    await other.aclose()


async def test_a_claim_marked_as_being_shown_counts_as_used_when_its_process_died(
        service, lifecycle, store, clock):
    """A claim that goes straight on to show (no passphrase to check: the Slack reveal's)
    marks its view as being shown in the same step, so a process that dies after it may
    have shown the secret: the sweep counts that view as used, never gives it back. A
    passphrase secret's claim stays only claimed until its guess is checked (`showing`),
    and is given back."""
    plain = await service.share(form(), people=People())
    locked = await service.share(form(passphrase="correct horse"), people=People())
    claims = [await store.claim(record.secret_id, user_id="UBOB", team_id="T1",
                                now=clock.now, showing=True) for record in (plain, locked)]
    assert [claim.showing for claim in claims] == [True, False]
    clock.advance(121)
    settled = {r.secret_id: outcome for r, _, outcome, _ in await lifecycle.return_stale_claims()}
    assert settled == {plain.secret_id: StaleOutcome.BURNED,
                       locked.secret_id: StaleOutcome.RETURNED}
    assert (await reveal(service, plain)).outcome is RevealOutcome.UNAVAILABLE
    assert (await reveal(service, locked)).outcome is RevealOutcome.NEEDS_PASSPHRASE
