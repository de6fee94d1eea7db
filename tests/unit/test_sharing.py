"""The sharing service and the Redis store, against a real Redis server."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.crypto import MasterKey, StaticKeyRing
from bot.domain import RevealOutcome, ShareForm, Status, ViewState
from bot.errors import CodeTaken, NotShown, ValidationFailed
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace
from tests.conftest import redis_contents, stored_secrets

SECRET = "correct horse battery staple"


class People:
    """A directory where ids starting with B are bots."""

    async def not_people(self, user_ids):
        return {u: f"{u.lower()} (a bot)" for u in user_ids if u.startswith("B")}


@pytest.fixture
def service(store, keyring):
    return SharingService(store=store, keyring=keyring)


def form(**changes) -> ShareForm:
    values = {"team_id": "T1", "sender_id": "UALICE", "recipients": ("UBOB",), "text": SECRET,
              "expiry_seconds": "3600", "origin_channel": "C1"}
    values.update(changes)
    return ShareForm(**values)


async def reveal(service, record, user="UBOB", team="T1", shown=None):
    async def show(plaintext, claim):
        if shown is not None:
            shown.append(plaintext)
    return await service.reveal(secret_id=record.secret_id, user_id=user, team_id=team,
                                show=show)


async def test_share_stores_only_ciphertext_with_ttls(service, redis_sync):
    """A shared secret is stored encrypted; the ciphertext carries the expiry TTL."""
    record = await service.share(form(), people=People())
    keys = KeySpace("ss")
    ciphertext = redis_sync.get(keys.ciphertext(record.secret_id))
    assert ciphertext
    assert SECRET.encode() not in ciphertext
    assert 3590 <= redis_sync.ttl(keys.ciphertext(record.secret_id)) <= 3600
    assert 3600 + 3590 <= redis_sync.ttl(keys.meta(record.secret_id)) <= 7200
    assert record.secret_id.startswith(record.code.replace("-", ""))
    assert len(record.secret_id) == 28
    assert redis_sync.hget(keys.meta(record.code), "id") == record.secret_id.encode()
    assert not [v for v in redis_contents(redis_sync) if SECRET.encode() in v]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"recipients": ()}, "recipients", "at least one"),
    ({"recipients": tuple(f"U{i:04}" for i in range(129))}, "recipients", "at most 128"),
    ({"recipients": ("UBOB", "BDEPLOY")}, "recipients", "bdeploy (a bot)"),
    ({"text": None}, "secret", "Type or paste"),
    ({"text": "  \n "}, "secret", "Type or paste"),
    ({"text": "x" * 3001}, "secret", "at most 3000"),
    ({"expiry_seconds": "12"}, "expiry", "Choose one"),
])
async def test_invalid_input_names_the_field_and_stores_nothing(service, redis_sync, changes,
                                                                field, message):
    """Each kind of bad input is refused on its own field, and Redis stays empty."""
    with pytest.raises(ValidationFailed) as caught:
        await service.share(form(**changes), people=People())
    assert message in caught.value.errors[field]
    assert stored_secrets(redis_sync) == []


async def test_exactly_3000_characters_and_128_recipients_are_accepted(service):
    """The limits themselves are allowed."""
    recipients = tuple(f"U{i:04}" for i in range(128))
    record = await service.share(form(text="y" * 3000, recipients=recipients), people=People())
    assert len(record.recipients) == 128


async def test_reveal_once_then_unavailable(service, store):
    """A recipient sees the secret once; the second try is unavailable and it is burned."""
    record = await service.share(form(), people=People())
    shown: list[str] = []
    first = await reveal(service, record, shown=shown)
    second = await reveal(service, record, shown=shown)
    assert first.outcome is RevealOutcome.REVEALED
    assert first.last_view
    assert second.outcome is RevealOutcome.UNAVAILABLE
    assert shown == [SECRET]
    after = await store.get(record.secret_id)
    assert after.status is Status.BURNED
    assert after.views == {"UBOB": ViewState.VIEWED}


async def test_non_recipient_and_other_team_are_refused_without_consuming(service):
    """Strangers are refused (and told apart for the audit); the recipient still can reveal."""
    record = await service.share(form(), people=People())
    assert (await reveal(service, record, user="UEVE")).outcome is RevealOutcome.NOT_RECIPIENT
    assert (await reveal(service, record, team="T2")).outcome is RevealOutcome.WRONG_TEAM
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED


async def test_two_recipients_each_reveal_once_and_ciphertext_goes_after_the_last(
        service, redis_sync):
    """With two recipients each gets one view; the ciphertext is deleted after the last."""
    record = await service.share(form(recipients=("UBOB", "UCAROL")), people=People())
    key = KeySpace("ss").ciphertext(record.secret_id)
    first = await reveal(service, record, user="UBOB")
    assert not first.last_view
    assert redis_sync.exists(key)
    assert (await reveal(service, record, user="UBOB")).outcome is RevealOutcome.UNAVAILABLE
    assert (await reveal(service, record, user="UCAROL")).last_view
    assert not redis_sync.exists(key)


async def test_fifty_concurrent_reveals_yield_one_plaintext(service):
    """Of 50 simultaneous clicks by the recipient exactly one sees the secret."""
    record = await service.share(form(), people=People())
    shown: list[str] = []
    results = await asyncio.gather(*(reveal(service, record, shown=shown) for _ in range(50)))
    assert shown == [SECRET]
    assert sum(r.outcome is RevealOutcome.REVEALED for r in results) == 1


async def test_certain_failure_to_show_gives_the_view_back(service):
    """When showing certainly failed (Slack refused the modal), the view is not used up."""
    record = await service.share(form(), people=People())

    async def refused(plaintext, claim):
        raise NotShown("expired_trigger_id")

    with pytest.raises(NotShown):
        await service.reveal(secret_id=record.secret_id, user_id="UBOB", team_id="T1",
                             show=refused)
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED


async def test_uncertain_failure_to_show_uses_the_view(service):
    """When showing failed in a way that may have shown it (a lost answer), the view is
    used up rather than risk showing the secret twice, and the result says so."""
    record = await service.share(form(), people=People())

    async def lost(plaintext, claim):
        raise ConnectionResetError("answer lost")

    result = await service.reveal(secret_id=record.secret_id, user_id="UBOB", team_id="T1",
                                  show=lost)
    assert result.outcome is RevealOutcome.REVEALED
    assert result.uncertain
    assert (await reveal(service, record)).outcome is RevealOutcome.UNAVAILABLE


async def test_decryption_failure_never_destroys(store, service):
    """With the key gone from the ring, reveal fails but the secret stays revealable."""
    record = await service.share(form(), people=People())
    keyless = SharingService(store=store, keyring=StaticKeyRing([MasterKey("k9", b"9" * 32)]))
    failed = await reveal(keyless, record)
    assert failed.outcome is RevealOutcome.FAILED
    assert failed.code == record.code
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED


async def test_ciphertext_gone_by_ttl_is_unavailable(service, redis_sync):
    """Redis's TTL enforces expiry: once the ciphertext key expires, reveal is refused."""
    record = await service.share(form(), people=People())
    redis_sync.pexpire(KeySpace("ss").ciphertext(record.secret_id), 50)
    await asyncio.sleep(0.2)
    assert (await reveal(service, record)).outcome is RevealOutcome.UNAVAILABLE


async def test_past_expiry_time_is_unavailable_even_before_redis_expires_it(store, keyring):
    """The expiry time is checked too, so a reveal a moment after expiry is refused."""
    now = time.time()
    record = await SharingService(store=store, keyring=keyring, clock=lambda: now).share(
        form(), people=People())
    later = SharingService(store=store, keyring=keyring, clock=lambda: now + 3601)
    assert (await reveal(later, record)).outcome is RevealOutcome.UNAVAILABLE


async def test_unknown_and_malformed_ids_are_unavailable(service):
    """Ids that were never issued, or are not ids at all, get the same answer."""
    for secret_id in ("A" * 22, "../../etc", "", "x" * 5000, record_like_id()):
        result = await service.reveal(secret_id=secret_id, user_id="UBOB", team_id="T1",
                                      show=None)  # type: ignore[arg-type]
        assert result.outcome is RevealOutcome.UNAVAILABLE


async def test_code_collision_is_detected(store, service, redis_sync):
    """A share code already in use by another secret is never overwritten."""
    from dataclasses import replace

    from bot.domain.codes import new_secret_id

    record = await service.share(form(), people=People())
    other = replace(record, secret_id=new_secret_id(record.code))
    with pytest.raises(CodeTaken):
        await store.create(other, b"other", now=time.time())
    assert redis_sync.hget(KeySpace("ss").meta(record.code), "id") == \
        record.secret_id.encode()
    shown: list[str] = []
    await reveal(service, record, shown=shown)
    assert shown == [SECRET]


async def test_a_redis_blip_after_showing_never_shows_twice(service, store, monkeypatch):
    """If recording the view fails after the secret was shown, it is retried; and even if
    it keeps failing the reveal reports success (never a second modal) and the view
    stays taken."""
    from bot.errors import StorageUnavailable

    record = await service.share(form(), people=People())
    calls = {"n": 0}
    real_confirm = store.confirm

    async def flaky_confirm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StorageUnavailable("blip")
        return await real_confirm(*args, **kwargs)

    monkeypatch.setattr(store, "confirm", flaky_confirm)
    shown: list[str] = []
    result = await reveal(service, record, shown=shown)
    assert result.outcome is RevealOutcome.REVEALED
    assert result.recorded
    assert calls["n"] == 2

    async def down(*args, **kwargs):
        raise StorageUnavailable("down")

    other = await service.share(form(), people=People())
    monkeypatch.setattr(store, "confirm", down)
    lost = await reveal(service, other, shown=shown)
    assert lost.outcome is RevealOutcome.REVEALED
    assert not lost.recorded
    assert (await reveal(service, other)).outcome is RevealOutcome.IN_FLIGHT
    assert shown == [SECRET, SECRET]


def record_like_id() -> str:
    """An id of the right shape that was never issued."""
    from bot.domain import new_secret_id, new_share_code
    return new_secret_id(new_share_code())


async def test_passphrase_work_runs_off_the_loop_and_abandoned_work_keeps_its_slot(service):
    """Passphrase work (scrypt) runs on threads, KDF_CONCURRENCY at once; when a caller
    stops waiting (a share past its budget), its thread keeps its slot until it is done,
    so never more run at once; the event loop stays free meanwhile."""
    import threading

    from bot.secrets.kdf import KDF_CONCURRENCY

    release, running, most = threading.Event(), [0], [0]
    lock = threading.Lock()

    def work() -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1
        return "done"

    waiting = [asyncio.create_task(service._kdf(work)) for _ in range(KDF_CONCURRENCY + 1)]
    await asyncio.sleep(0.1)  # the loop runs while the threads block
    waiting[0].cancel()  # its caller gives up; its thread still runs
    await asyncio.sleep(0.1)
    assert (running[0], waiting[-1].done()) == (KDF_CONCURRENCY, False)
    release.set()
    assert await asyncio.gather(*waiting[1:]) == ["done"] * KDF_CONCURRENCY
    assert most[0] == KDF_CONCURRENCY


async def test_a_known_code_with_a_wrong_suffix_is_unknown(service):
    """The id must match in full: the code part alone (shown in many places) is not
    enough to address a secret for a reveal."""
    record = await service.share(form(), people=People())
    forged = record.secret_id[:12] + "A" * 16
    result = await service.reveal(secret_id=forged, user_id="UBOB", team_id="T1",
                                  show=None)  # type: ignore[arg-type]
    assert result.outcome is RevealOutcome.UNAVAILABLE
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
