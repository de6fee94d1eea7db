"""The reveal path's Redis work: what one claim does at once, and how many round trips a
whole reveal costs (each one is CPU in the bot's single process), against a real Redis.

Round trips are counted where the client sends them: every command or pipeline the
client writes to a connection is one.
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
from redis.asyncio import Connection, Redis

from bot.audit.log import DurableAuditLog
from bot.handlers.reveal import Click, audit_reveal
from bot.secrets.followups import Followups
from bot.secrets.limits import Rate, RateLimits
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, RedisSecretStore
from bot.storage.audit_stream import AuditStream
from bot.storage.owed import OwedEvents
from bot.storage.rate_counter import RedisRateCounter
from bot.telemetry.metrics import Metrics
from tests.unit.test_sharing import SECRET, People, form, reveal


class CountingConnection(Connection):
    """A connection that counts what it writes: one command, or one whole pipeline."""

    sent = 0

    async def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


@pytest.fixture
async def counted(redis_url, redis_sync):
    """A client on the flushed test database whose round trips are counted."""
    client = Redis.from_url(redis_url, connection_class=CountingConnection)
    yield client
    await client.aclose()


@pytest.fixture
def service(store, keyring):
    return SharingService(store=store, keyring=keyring)


@pytest.mark.parametrize(("changes", "allowed"), [
    ({"recipients": ("UBOB", "UCAROL")}, 2),
    ({"view_mode": "total", "total_views": "3"}, 3),
    ({"view_mode": "unlimited"}, None)])
async def test_a_reveal_reports_the_views_allowed_in_all(service, changes, allowed):
    """The reveal says how many views the secret allows in all (for the sender's receipt,
    which needs no second read of the secret), at every view."""
    record = await service.share(form(**changes), people=People())
    first = await reveal(service, record)
    second = await reveal(service, record, user="UCAROL" if "recipients" in changes
                          else "UBOB")
    assert (first.views_allowed, second.views_allowed) == (allowed, allowed)
    assert record.views_allowed == allowed


async def test_a_replayed_attempt_does_nothing_and_counts_nothing(service, store, keyring):
    """A reveal named by an attempt (a click's trigger id) already taken in does nothing,
    and is not counted against the person's rate limit; without a reveal limit, a replay
    is refused all the same."""
    from bot.domain import RevealOutcome

    client = store._redis
    for rate in (Rate(2, 600), None):
        limits = RateLimits(RedisRateCounter(client, keys=KeySpace("ss")), share=None,
                            reveal=rate)
        limited = SharingService(store=store, keyring=keyring, limits=limits)
        record = await service.share(form(view_mode="unlimited"), people=People())
        shown: list[str] = []

        async def show(plaintext, claim, shown=shown):
            shown.append(plaintext)

        async def attempt(token: str, service=limited, record=record, show=show):
            return (await service.reveal(secret_id=record.secret_id, user_id="UBOB",
                                         team_id="T1", show=show, attempt=token)).outcome

        prefix = "limited" if rate else "unlimited"
        assert await attempt(f"{prefix}-1") is RevealOutcome.REVEALED
        assert await attempt(f"{prefix}-1") is RevealOutcome.REPEATED
        assert await attempt(f"{prefix}-2") is RevealOutcome.REVEALED  # the replay: uncounted
        assert shown == [SECRET, SECRET]


async def test_a_last_view_costs_two_round_trips_of_its_own(counted, keyring, redis_sync,
                                                            monkeypatch):
    """A click taken in (its rate limit and replay mark), claimed and marked as being
    shown, in one step on one server (no passphrase to check in between), then confirmed,
    burning the secret: two round trips, none of them a script check (SCRIPT EXISTS). Its
    two audit events, stored and settled, and the burned secret's expiry-index entry go
    after it, with other reveals' (bot.secrets.followups): ten reveals' follow-ups take
    three round trips in all. A reveal took seven round trips of its own before."""
    # The follow-ups gather for a second here, not 10 ms: on a loaded machine ten clicks
    # can take longer than 10 ms, and their follow-ups' round trips would land among the
    # clicks' own (seen once in CI).
    monkeypatch.setattr("bot.secrets.followups.GATHER_SECONDS", 1.0)
    keys = KeySpace("ss")
    store = RedisSecretStore(counted, keys=keys, keyring=keyring,
                             metadata_retention_seconds=3600)
    limits = RateLimits(RedisRateCounter(counted, keys=keys), share=None,
                        reveal=Rate(60, 600))
    service = SharingService(store=store, keyring=keyring, limits=limits)
    audit = DurableAuditLog(AuditStream(counted, prefix="ss", retention_seconds=3600),
                            logger=logging.getLogger("test"), owed=OwedEvents(counted, keys=keys))
    followups = Followups(audit=audit, views=store.link_views, later=lambda work: None,
                          logger=logging.getLogger("test"))
    deps = SimpleNamespace(audit=audit, clock=time.time, metrics=Metrics(),
                           logger=logging.getLogger("test"), followups=followups)

    async def show(plaintext, claim):
        pass

    async def click(record, trigger: str) -> int:
        before = CountingConnection.sent
        result = await service.reveal(secret_id=record.secret_id, user_id="UBOB",
                                      team_id="T1", show=show, attempt=trigger)
        assert result.last_view
        await audit_reveal(Click(secret_id=record.secret_id, user_id="UBOB", team_id="T1",
                                 trigger_id=trigger, response_url=None, channel="C1"),
                           result, deps)  # type: ignore[arg-type]
        return CountingConnection.sent - before

    warm, *measured = [await service.share(form(), people=People()) for _ in range(11)]
    await click(warm, "trigger-0")  # scripts loaded, connection made
    await followups.drained()
    assert [await click(record, f"trigger-{n + 1}") for n, record in enumerate(measured)] \
        == [2] * len(measured)
    before = CountingConnection.sent
    await followups.drained()
    # The audit's append and settlement, and the expiry index (no quota in this store).
    assert CountingConnection.sent - before == 3
    for record in measured:
        # Settled; what stays owed is the share's own secret_created (not recorded here).
        assert await counted.hkeys(keys.owed(record.secret_id)) == [
            f"created:{record.secret_id}".encode()]
    events = [e.action.value for e in await audit._stream.latest(count=2)]
    assert events == ["secret_burned", "secret_opened"]
    assert redis_sync.zcard(keys.expiries()) == 0  # out of the index, every one


async def test_a_refused_click_keeps_the_index_entry_of_a_view_being_shown(service, store,
                                                                           redis_sync):
    """A refused click (a wrong id) by someone whose view of the same secret is being
    shown leaves that view's claims-index entry: were it taken back, a process dying
    before confirming would leave a view the stale-claim pass never finds."""
    record = await service.share(form(), people=People())
    await store.claim(record.secret_id, user_id="UBOB", team_id="T1", now=time.time())
    assert await store.showing(record.secret_id, user_id="UBOB", now=time.time())
    index = KeySpace("ss").claims()
    before = redis_sync.zrange(index, 0, -1)
    assert before
    wrong = record.secret_id[:-1] + ("A" if record.secret_id[-1] != "A" else "B")
    refused = await store.claim(wrong, user_id="UBOB", team_id="T1", now=time.time())
    assert refused.outcome == "unknown"
    assert redis_sync.zrange(index, 0, -1) == before


async def test_a_refused_attempt_claims_nothing_in_the_claims_step(service, store, keyring,
                                                                  redis_sync):
    """On one server the claim's step takes the attempt in first: over the limit, or a
    replayed click, it claims no view, writes no claims-index entry and leaves the secret
    as it was, and a person's view in flight keeps its index entry."""
    from bot.domain import RevealOutcome

    client = store._redis
    limits = RateLimits(RedisRateCounter(client, keys=KeySpace("ss")), share=None,
                        reveal=Rate(1, 600))
    limited = SharingService(store=store, keyring=keyring, limits=limits)
    record = await service.share(form(view_mode="unlimited"), people=People())
    meta = KeySpace("ss").meta(record.secret_id)
    before = redis_sync.hgetall(meta)

    async def attempt(token: str):
        async def show(plaintext, claim):
            pass
        return await limited.reveal(secret_id=record.secret_id, user_id="UBOB", team_id="T1",
                                    show=show, attempt=token)

    assert (await attempt("first")).outcome is RevealOutcome.REVEALED
    after_first = redis_sync.hgetall(meta)
    assert after_first != before
    refused = await attempt("second")
    assert refused.outcome is RevealOutcome.RATE_LIMITED
    assert refused.limited is not None
    assert 0 < refused.limited.retry_after <= 600
    assert (refused.limited.limit, refused.limited.window) == (1, 600)
    assert (await attempt("first")).outcome is RevealOutcome.REPEATED
    assert redis_sync.hgetall(meta) == after_first  # no view claimed, none counted
    assert redis_sync.zcard(KeySpace("ss").claims()) == 0
    # Bob's view being shown meanwhile keeps its entry when his other click is refused.
    await store.claim(record.secret_id, user_id="UBOB", team_id="T1", now=time.time(),
                      showing=True)
    held = redis_sync.zrange(KeySpace("ss").claims(), 0, -1, withscores=True)
    assert (await attempt("third")).outcome is RevealOutcome.RATE_LIMITED
    # Its time too: the stale-claim pass finds it when it is due, not later.
    assert redis_sync.zrange(KeySpace("ss").claims(), 0, -1, withscores=True) == held != []


async def test_the_claim_goes_by_its_sha_and_by_its_text_once_redis_lost_it(service,
                                                                           redis_sync):
    """The claim's script (4 KB) is sent by its SHA; a Redis that lost its scripts (a
    restart, a flush, a failover) gets it by its text once, and by its SHA again after."""
    from bot.domain import RevealOutcome

    def calls(command: str) -> int:
        return int(redis_sync.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))

    record = await service.share(form(view_mode="unlimited"), people=People())
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    redis_sync.script_flush()
    redis_sync.config_resetstat()
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    assert (calls("evalsha"), calls("eval")) == (1, 2)  # refused by SHA; by text; confirm
    redis_sync.config_resetstat()
    assert (await reveal(service, record)).outcome is RevealOutcome.REVEALED
    assert (calls("evalsha"), calls("eval")) == (1, 1)  # the claim by SHA; the confirm


async def test_a_claim_that_runs_late_is_not_marked_as_being_shown(service, store):
    """A claim Redis runs long after it was sent (a frozen Redis runs what it received
    when it thaws) finds its click answered "try again" long ago: it is only claimed, so
    the sweep gives that view back, rather than counting it as used."""
    late, fresh = [await service.share(form(), people=People()) for _ in range(2)]
    stale = await store.claim(late.secret_id, user_id="UBOB", team_id="T1",
                              now=time.time() - 60, showing=True)
    now = await store.claim(fresh.secret_id, user_id="UBOB", team_id="T1", now=time.time(),
                            showing=True)
    assert (stale.outcome, stale.showing) == ("claimed", False)
    assert (now.outcome, now.showing) == ("claimed", True)
