"""Writes a Redis outage left in doubt, and their undoing, against a real Redis server.

A command sent to a Redis that froze runs when Redis runs again, after the bot has told
the person "nothing happened": the undo must make that true whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.errors import ClaimInDoubt, CodeTaken, ShareNotStored, StorageUnavailable
from bot.recovery import when_back
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, RedisSecretStore, connect
from tests.conftest import stored_secrets
from tests.unit.test_sharing import SECRET, People, form, reveal


@pytest.fixture
def service(store, keyring):
    return SharingService(store=store, keyring=keyring)


async def test_withdraw_removes_a_share_that_landed(service, store, redis_sync):
    """A share stored after all (the write landed late) is removed with its indexes."""
    record = await service.share(form(), people=People())
    assert stored_secrets(redis_sync)
    assert await service.withdraw(record) is True
    assert [k for k in stored_secrets(redis_sync) if not k.endswith(b":w")] == []
    assert await store.get(record.secret_id) is None


async def test_a_write_arriving_after_the_withdrawal_stores_nothing(service, store, redis_sync):
    """The undo ran first, the late write second: the write finds the mark and stores
    nothing (it reports the code as taken, to a caller that is no longer listening)."""
    record = await service.share(form(), people=People())
    assert await service.withdraw(record) is True
    ciphertext = b"late ciphertext"
    with pytest.raises(CodeTaken):
        await store.create(record, ciphertext, now=record.created_at)
    assert redis_sync.exists(KeySpace("ss").meta(record.secret_id)) == 0
    assert redis_sync.exists(KeySpace("ss").ciphertext(record.secret_id)) == 0


async def test_giving_back_a_claim_in_doubt_returns_only_that_claim(service, store):
    """A claim that landed after the bot gave up is given back; a claim made at another
    time (a later click's) is left alone."""
    record = await service.share(form(), people=People())
    await store.claim(record.secret_id, user_id="UBOB", team_id="T1", now=1000.0)
    assert await service.give_back(ClaimInDoubt(record.secret_id, "UBOB", 999.0)) is False
    assert await service.give_back(ClaimInDoubt(record.secret_id, "UBOB", 1000.0)) is True
    assert await service.give_back(ClaimInDoubt(record.secret_id, "UBOB", 1000.0)) is False
    shown: list[str] = []
    await reveal(service, record, shown=shown)
    assert shown == [SECRET]


async def test_a_share_with_redis_down_raises_share_not_stored(keyring):
    """Storing against an unreachable Redis fails with the record to withdraw."""
    client = connect("redis://127.0.0.1:1/0")
    down = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring,
                            metadata_retention_seconds=60)
    try:
        with pytest.raises(ShareNotStored) as raised:
            await SharingService(store=down, keyring=keyring).share(form(), people=People())
        assert raised.value.record.recipients == ("UBOB",)
        assert isinstance(raised.value, StorageUnavailable)
    finally:
        await client.aclose()


async def test_when_back_retries_until_redis_answers_and_gives_up_in_time():
    """The undo is retried while the store is unreachable, and abandoned (logged) past
    its time limit."""
    calls = []

    async def flaky() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise StorageUnavailable("down")
        return True

    undone = []

    async def note() -> None:
        undone.append(True)

    logger = logging.getLogger("test")
    assert await asyncio.wait_for(when_back(flaky, what="x", logger=logger, on_undone=note),
                                  5) is True
    assert len(calls) == 3
    assert undone == [True]

    async def never() -> bool:
        raise StorageUnavailable("down")

    assert await asyncio.wait_for(when_back(never, what="x", logger=logger,
                                            give_up_after=0.3), 5) is False


async def test_a_view_being_shown_when_its_process_died_counts_as_used(service, store,
                                                                        redis_sync):
    """Claimed, and Slack asked to show it, then the process died: the sweep cannot know
    whether it was seen, so it counts the view as used (burning the secret when it was
    the last) rather than giving it back: never shown twice. A view only claimed is
    given back."""
    import time

    from bot.secrets.lifecycle import LifecycleService

    shown = await service.share(form(), people=People())
    claimed = await service.share(form(), people=People())
    past = time.time() - 600
    for record in (shown, claimed):
        await store.claim(record.secret_id, user_id="UBOB", team_id="T1", now=past)
    assert await store.showing(shown.secret_id, user_id="UBOB", now=time.time()) is True
    settled = await LifecycleService(store=store).return_stale_claims()
    outcomes = {record.secret_id: (user, outcome) for record, user, outcome, _ in settled}
    assert outcomes == {shown.secret_id: ("UBOB", "burned"),
                        claimed.secret_id: ("UBOB", "returned")}
    assert redis_sync.zcard("ss:claims") == 0
    seen: list[str] = []
    await reveal(service, shown, shown=seen)
    assert seen == []
    await reveal(service, claimed, shown=seen)
    assert seen == [SECRET]


async def test_a_share_is_owed_until_delivered_and_taken_over_once(service, store):
    """A stored secret is owed its Reveal messages until `delivered`; a stale debt is
    taken over by exactly one of two sweepers; a fresh one by none."""
    from bot.secrets.lifecycle import LifecycleService

    owed = await service.share(form(), people=People())
    done = await service.share(form(), people=People())
    fresh = LifecycleService(store=store)
    await fresh.delivered(done, {})
    assert await fresh.undelivered() == []  # not stale yet
    late = LifecycleService(store=store, clock=lambda: owed.created_at + 121)
    again = LifecycleService(store=store, clock=lambda: owed.created_at + 121)
    first, second = await asyncio.gather(late.undelivered(), again.undelivered())
    assert [r.secret_id for r in first + second] == [owed.secret_id]
