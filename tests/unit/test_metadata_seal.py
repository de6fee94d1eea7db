"""The seal over a secret's metadata against someone who can write to Redis: each kind of
change to who may see a secret, and when, is refused before anything is decrypted, and
what the bot itself changes (views, status) keeps the seal valid.

Real Redis; the tampering is a plain Redis write, as an attacker with Redis access would
make it.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.crypto import MasterKey, StaticKeyRing, seal
from bot.domain import RevealOutcome, Status, api_principal
from bot.errors import ValidationFailed
from bot.secrets import rotation
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace
from bot.storage.key_usage import RedisKeyUsage
from bot.storage.secret_fields import intact, sealed_message
from tests.unit.test_sharing import SECRET, People, form, reveal

KEYS = KeySpace("ss")


@pytest.fixture
def service(store, keyring):
    return SharingService(store=store, keyring=keyring)


def meta(record) -> str:
    return KEYS.meta(record.secret_id)


async def refused(service, store, record, user="UBOB", team="T1"):
    """Reveal as `user`: assert it is refused as tampered, shows nothing, and uses up no
    view (the claim was given back)."""
    shown: list[str] = []
    result = await reveal(service, record, user=user, team=team, shown=shown)
    assert result.outcome is RevealOutcome.TAMPERED
    assert shown == []
    stored = await store.get(record.secret_id)
    assert stored is not None
    assert stored.tampered
    assert stored.views_used == 0


# -- each kind of tampering ----------------------------------------------------------


async def test_a_recipient_added_in_redis_is_refused(service, store, redis_sync):
    record = await service.share(form(), people=People())
    redis_sync.hset(meta(record), mapping={"to": "UBOB,UEVE", "r:UEVE": "0", "left": 2})
    await refused(service, store, record, user="UEVE")
    await refused(service, store, record, user="UBOB")  # the record is refused to all


async def test_a_recipient_entry_without_the_recipients_list_is_refused(service, store,
                                                                       redis_sync):
    """The script grants a claim to anyone with an `r:` entry (not sealed field by field);
    the sealed recipients list decides, before anything is decrypted."""
    record = await service.share(form(), people=People())
    redis_sync.hset(meta(record), mapping={"r:UEVE": "0", "left": 2})
    shown: list[str] = []
    result = await reveal(service, record, user="UEVE", shown=shown)
    assert result.outcome is RevealOutcome.TAMPERED
    assert shown == []
    assert redis_sync.hget(meta(record), "r:UEVE") == b"0"  # the claim was given back


async def test_a_team_changed_in_redis_is_refused(service, store, redis_sync):
    record = await service.share(form(), people=People())
    redis_sync.hset(meta(record), "team", "TEVIL")
    await refused(service, store, record, team="TEVIL")


async def test_an_expiry_extended_in_redis_is_refused(service, store, redis_sync, keyring):
    now = time.time()
    clock = [now]
    late = SharingService(store=store, keyring=keyring, clock=lambda: clock[0])
    record = await late.share(form(expiry_seconds="3600"), people=People())
    redis_sync.hincrby(meta(record), "exp", 30 * 86400)
    redis_sync.persist(KEYS.ciphertext(record.secret_id))
    clock[0] = now + 7200
    await refused(late, store, record)


async def test_a_view_limit_raised_in_redis_is_refused(service, store, redis_sync):
    record = await service.share(form(view_mode="total", total_views="1"), people=People())
    redis_sync.hincrby(meta(record), "left", 5)
    await refused(service, store, record)


async def test_a_view_limit_lifted_in_redis_is_refused(service, store, redis_sync):
    """Deleting `left` would make a limited secret unlimited."""
    record = await service.share(form(view_mode="total", total_views="1"), people=People())
    redis_sync.hdel(meta(record), "left")
    redis_sync.hset(meta(record), "mode", "unlimited")
    await refused(service, store, record)


async def test_a_passphrase_flag_cleared_in_redis_is_refused(service, store, redis_sync):
    record = await service.share(form(passphrase="long enough"), people=People())
    redis_sync.hdel(meta(record), "pp")
    await refused(service, store, record)


async def test_a_changed_sender_or_label_is_refused(service, store, redis_sync):
    """The sender (who gets the receipts) and the label (shown on the Reveal message) are
    sealed too: neither can be forged into a message the bot sends."""
    first = await service.share(form(), people=People())
    second = await service.share(form(), people=People())
    redis_sync.hset(meta(first), "from", "UEVE")
    redis_sync.hset(meta(second), "lbl", "IT: reply with your password")
    await refused(service, store, first)
    await refused(service, store, second)


API_SENDER = api_principal("tok1", "deploy")


async def test_where_an_api_senders_receipts_go_is_sealed(service, store, redis_sync):
    """`rto` names who gets an API sender's receipts: changed, removed, or added to a
    secret that had none, the record is refused, so a Redis writer cannot have receipts
    (who viewed it, when) sent to a channel or person of their choosing."""
    api = form(sender_id=API_SENDER, receipts_to="C0RECEIPTS", origin_channel=None)
    changed = await service.share(api, people=People())
    removed = await service.share(api, people=People())
    added = await service.share(form(sender_id=API_SENDER, origin_channel=None),
                                people=People())
    assert redis_sync.hget(meta(changed), "rto") == b"C0RECEIPTS"
    assert (await store.get(changed.secret_id)).receipts_to == "C0RECEIPTS"
    redis_sync.hset(meta(changed), "rto", "C0EVIL")
    redis_sync.hdel(meta(removed), "rto")
    redis_sync.hset(meta(added), "rto", "U0EVE")
    for record in (changed, removed, added):
        await refused(service, store, record)


async def test_receipts_to_is_stored_only_when_set_and_comes_back_with_a_view(service,
                                                                             redis_sync):
    """Most secrets have no `rto` field (memory); an API sender's reveal answers where its
    receipts go, from the sealed fields the claim read."""
    plain = await service.share(form(), people=People())
    assert b"rto" not in redis_sync.hgetall(meta(plain))
    api = await service.share(form(sender_id=API_SENDER, receipts_to="U0OPS"),
                              people=People())
    result = await reveal(service, api)
    assert result.outcome is RevealOutcome.REVEALED
    assert (result.sender_id, result.receipts_to) == (API_SENDER, "U0OPS")
    assert (await reveal(service, plain)).receipts_to is None


async def test_a_bad_receipts_to_is_refused_before_anything_is_stored(service, redis_sync):
    for bad in ("#general", "c0lower", "D0DIRECT", "U0ALICE,U0EVE", ""):
        with pytest.raises(ValidationFailed) as raised:
            await service.share(form(receipts_to=bad), people=People())
        assert list(raised.value.errors) == ["receipts_to"]
    assert not redis_sync.keys("ss:*:m")


async def test_a_record_sealed_before_receipts_to_existed_still_verifies(service, store,
                                                                        redis_sync, keyring):
    """Seals made before `rto` existed cover the twelve first fields and the views in all,
    and nothing else: such a record (re-sealed here exactly as that release sealed it)
    still opens."""
    record = await service.share(form(label="db"), people=People())
    fields = {k.decode(): v.decode() for k, v in redis_sync.hgetall(meta(record)).items()}
    before = json.dumps(["share-secret/meta v1",
                         [fields.get(name) for name in ("id", "team", "from", "to", "at",
                                                        "exp", "mode", "ch", "lbl", "fmt",
                                                        "pp", "nt")],
                         fields["left"]], ensure_ascii=True, separators=(",", ":")).encode()
    assert sealed_message(fields, fields["left"]) == before
    redis_sync.hset(meta(record), "mac", seal.seal(before, keyring))
    shown: list[str] = []
    assert (await reveal(service, record, shown=shown)).outcome is RevealOutcome.REVEALED
    assert shown == [SECRET]


async def test_a_seal_copied_from_another_secret_or_removed_is_refused(service, store,
                                                                     redis_sync):
    """A seal names nothing but its fields: one secret's seal does not fit another's, and
    a record without a seal (as written before seals) is refused."""
    donor = await service.share(form(recipients=("UEVE",)), people=People())
    target = await service.share(form(), people=People())
    unsealed = await service.share(form(), people=People())
    redis_sync.hset(meta(target), mapping={
        "to": "UEVE", "r:UEVE": "0", "mac": redis_sync.hget(meta(donor), "mac")})
    redis_sync.hdel(meta(unsealed), "mac")
    await refused(service, store, target, user="UEVE")
    await refused(service, store, unsealed)


async def test_a_seal_under_a_key_the_ring_lacks_is_refused(service, store, redis_sync):
    record = await service.share(form(), people=People())
    other = StaticKeyRing([MasterKey("k1", b"\x09" * 32)])  # the same id, another key
    assert not intact({"id": record.secret_id}, other)
    shown: list[str] = []
    outsider = SharingService(store=store.with_keyring(other), keyring=other)
    assert (await reveal(outsider, record, shown=shown)).outcome is RevealOutcome.TAMPERED
    assert shown == []


# -- what the bot changes keeps the seal -------------------------------------------------


async def test_views_claimed_given_back_and_used_keep_the_seal(service, store, redis_sync):
    """`left + used + claims` is sealed, and every script keeps it: a secret viewed,
    refused (wrong passphrase gives the view back) and viewed again stays intact."""
    record = await service.share(form(recipients=("UBOB", "UCAROL"), view_mode="total",
                                      total_views="3"), people=People())
    shown: list[str] = []
    assert (await reveal(service, record, shown=shown)).outcome is RevealOutcome.REVEALED
    await store.claim(record.secret_id, user_id="UCAROL", team_id="T1", now=time.time())
    assert not (await store.get(record.secret_id)).tampered  # a view in flight
    await store.release(record.secret_id, user_id="UCAROL")
    assert (await reveal(service, record, user="UCAROL", shown=shown)).outcome \
        is RevealOutcome.REVEALED
    assert (await reveal(service, record, shown=shown)).outcome is RevealOutcome.REVEALED
    stored = await store.get(record.secret_id)
    assert not stored.tampered
    assert stored.status is Status.BURNED
    assert shown == [SECRET] * 3


async def test_views_handed_back_in_redis_stay_within_the_sealed_total(service, store,
                                                                      redis_sync):
    """Raising `left` alone changes the sealed sum and is refused. Raising it while
    lowering `used` by as much keeps the sum: that part of the state a seal cannot cover
    (SECURITY.md says so). It gives views back to sealed recipients only."""
    record = await service.share(form(view_mode="total", total_views="1"), people=People())
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    redis_sync.hset(meta(record), mapping={"st": "active", "left": 1})  # sum 1 + 1 = 2
    redis_sync.set(KEYS.ciphertext(record.secret_id), b"restored from a dump")
    shown: list[str] = []
    assert (await reveal(service, record, shown=shown)).outcome is RevealOutcome.TAMPERED
    redis_sync.hset(meta(record), mapping={"used": 0, "to": "UBOB,UEVE", "r:UEVE": "0"})
    assert (await reveal(service, record, user="UEVE", shown=shown)).outcome \
        is RevealOutcome.TAMPERED
    assert shown == []


def test_the_message_is_unambiguous_and_names_absent_fields():
    """Absent fields and empty ones differ; a comma inside the recipients list cannot be
    moved into another field."""
    base = {"id": "X", "to": "UA,UB"}
    assert sealed_message(base, None) != sealed_message({**base, "lbl": ""}, None)
    assert sealed_message(base, None) != sealed_message(base, "2")
    assert sealed_message({"to": "UA", "lbl": ",UB"}, None) != sealed_message(
        {"to": "UA,UB", "lbl": ""}, None)
    # The fields that came later join only when present, named: the message of a record
    # without them is the one seals were first made over.
    assert sealed_message({"id": "X", "team": "T"}, "1") == (
        b'["share-secret/meta v1",["X","T",null,null,null,null,null,null,null,null,null,'
        b'null],"1"]')
    assert sealed_message({"id": "X", "rto": "C1"}, None).endswith(b'],null,["rto","C1"]]')
    assert sealed_message({"id": "X", "rto": "C1"}, None) != sealed_message(
        {"id": "X", "kv": "C1"}, None)


def test_a_seal_names_its_key_and_is_small():
    ring = StaticKeyRing([MasterKey("k1", bytes(range(32)))])
    made = seal.seal(b"message", ring)
    assert made.startswith("k1:")
    assert len(made) == len("k1:") + 22  # 128 bits of HMAC-SHA256
    assert seal.verify(b"message", made, ring)
    assert not seal.verify(b"messagf", made, ring)
    assert not seal.verify(b"message", made[:-1] + ("A" if made[-1] != "A" else "B"), ring)
    for bad in (None, "", "k1", "k1:", "k1:!!!", ":" + made[3:], "k2" + made[2:]):
        assert not seal.verify(b"message", bad, ring)


# -- key rotation ----------------------------------------------------------------------


async def test_rotation_reseals_intact_secrets_and_never_seals_changed_ones(
        store, redis_url, redis_sync):
    """After `keys rotate`, an intact secret's seal is under the new key (it opens with the
    new key alone); a changed one is left, counted, and still refused."""
    old = MasterKey("k1", bytes(range(32)))
    new = MasterKey("k2", b"\x07" * 32)
    old_ring, both, new_ring = StaticKeyRing([old]), StaticKeyRing([new, old]), \
        StaticKeyRing([new])
    before = SharingService(store=store.with_keyring(old_ring), keyring=old_ring)
    kept = await before.share(form(), people=People())
    changed = await before.share(form(), people=People())
    redis_sync.hset(meta(changed), mapping={"to": "UBOB,UEVE", "r:UEVE": "0", "left": 2})
    from bot.storage import connect
    client = connect(redis_url)
    try:
        report = await rotation.rotate(RedisKeyUsage(client, keys=KEYS), both)
    finally:
        await client.aclose()
    assert (report.rotated, report.refused) == (1, 1)
    assert not report.complete  # the changed one stays under k1 until it ends
    assert redis_sync.hget(meta(kept), "mac").startswith(b"k2:")
    assert redis_sync.hget(meta(changed), "mac").startswith(b"k1:")
    after = SharingService(store=store.with_keyring(new_ring), keyring=new_ring)
    shown: list[str] = []
    assert (await reveal(after, kept, shown=shown)).outcome is RevealOutcome.REVEALED
    assert (await reveal(after, changed, user="UEVE", shown=shown)).outcome \
        is RevealOutcome.TAMPERED
    assert shown == [SECRET]


# -- the sweep ---------------------------------------------------------------------------


async def test_the_sweep_sends_nothing_for_a_changed_record(store, keyring, redis_sync):
    """Re-delivery hands the sweep the record flagged, so it refuses it; a changed record
    gets no reminder (its sender and label are not to be trusted)."""
    from bot.secrets.lifecycle import LifecycleService

    now = time.time()
    sharing = SharingService(store=store, keyring=keyring, clock=lambda: now)
    kept = await sharing.share(form(expiry_seconds="86400"), people=People())
    changed = await sharing.share(form(expiry_seconds="86400"), people=People())
    redis_sync.hset(meta(changed), mapping={"from": "UEVE", "lbl": "reply with a password"})
    later = LifecycleService(store=store, clock=lambda: now + 86400 - 3000)
    owed = {r.secret_id: r.tampered for r in await later.undelivered()}
    assert owed == {kept.secret_id: False, changed.secret_id: True}
    assert [r.secret_id for r in await later.due_reminders()] == [kept.secret_id]


async def test_keys_check_and_rotate_count_records_that_fail_their_seal(
        store, keyring, redis_url, redis_sync, tmp_path):
    """The operator sees how many active secrets are refused (changed, or stored before
    seals); rotation leaves them under their old key, and says so."""
    import asyncio

    from tests.unit.test_key_rotation import K1, K2, cli

    sharing = SharingService(store=store, keyring=keyring)  # k1, as K1
    for _ in range(3):
        await sharing.share(form(), people=People())
    changed = await sharing.share(form(), people=People())
    redis_sync.hset(meta(changed), "team", "TEVIL")
    check = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert check.returncode == 0, check.stderr
    assert "1 fail their metadata integrity check" in check.stdout
    done = await asyncio.to_thread(cli, ["keys", "rotate"], redis_url, tmp_path, [K2, K1])
    assert done.returncode == 3, done.stderr  # not everything moved
    assert "rotated 3" in done.stdout
    assert "left 1 whose metadata fails its integrity check" in done.stdout
    after = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert [line.split()[:3] for line in after.stdout.splitlines()[1:3]] == [
        ["k2", "encrypts", "3"], ["k1", "configured", "1"]]
    assert "1 fail their metadata integrity check" in after.stdout


async def test_keys_seal_seals_secrets_stored_before_seals_and_nothing_else(
        store, keyring, redis_url, redis_sync, tmp_path):
    """Upgrading: secrets stored by a release without seals are refused until the operator
    runs `keys seal` once; it seals those as they stand, and leaves a record whose seal
    fails (changed in Redis) refused: it never re-seals a seal that is there."""
    import asyncio

    from tests.unit.test_key_rotation import K1, cli

    sharing = SharingService(store=store, keyring=keyring)
    old = [await sharing.share(form(), people=People()) for _ in range(2)]
    for record in old:  # as stored before seals existed
        redis_sync.hdel(meta(record), "mac")
    changed = await sharing.share(form(), people=People())
    redis_sync.hset(meta(changed), "team", "TEVIL")
    intact_one = await sharing.share(form(), people=People())
    await refused(sharing, store, old[0])

    done = await asyncio.to_thread(cli, ["keys", "seal"], redis_url, tmp_path, [K1])
    assert done.returncode == 0, done.stderr
    assert "sealed 2 stored before seals, 2 already sealed" in done.stdout
    shown: list[str] = []
    for record in (*old, intact_one):
        assert (await reveal(sharing, record, shown=shown)).outcome is RevealOutcome.REVEALED
    assert shown == [SECRET] * 3
    await refused(sharing, store, changed, team="TEVIL")
    for record in old:
        assert f"sealed {record.code}" in done.stdout  # the operator sees what it vouched for

    # Later, someone with Redis access deletes a seal and adds herself: `keys seal` has
    # run, so it refuses to run again, and the record stays refused.
    target = await sharing.share(form(), people=People())
    redis_sync.hdel(meta(target), "mac")
    redis_sync.hset(meta(target), mapping={"to": "UBOB,UEVE", "r:UEVE": "0"})
    check = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K1])
    assert "1 have no metadata seal" in check.stdout
    assert "1 fail their metadata integrity check (changed in Redis)" in check.stdout
    again = await asyncio.to_thread(cli, ["keys", "seal"], redis_url, tmp_path, [K1])
    assert again.returncode == 1
    assert "already ran" in again.stdout
    await refused(sharing, store, target, user="UEVE")
    forced = await asyncio.to_thread(cli, ["keys", "seal", "--force"], redis_url, tmp_path,
                                     [K1])
    assert forced.returncode == 0
    assert f"sealed {target.code}" in forced.stdout


async def test_negative_counts_cannot_stretch_the_sealed_total(service, store, redis_sync):
    """`used` set below zero keeps the sealed sum while `left` grows past the sealed total:
    refused, so no more views are open at once than the sender allowed."""
    record = await service.share(form(recipients=("UBOB", "UCAROL"), view_mode="total",
                                      total_views="2"), people=People())
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    redis_sync.hset(meta(record), mapping={"used": -50, "left": 52})  # the sum stays 2
    shown: list[str] = []
    assert (await reveal(service, record, user="UCAROL", shown=shown)).outcome \
        is not RevealOutcome.REVEALED
    assert shown == []
