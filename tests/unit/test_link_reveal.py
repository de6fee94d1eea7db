"""The web page's reveal of a link secret in one Redis step (bot.secrets.link_reveal,
bot.storage.link_views), and its follow-ups after the answer (bot.secrets.followups).
Real Redis; round trips are counted where the client writes them."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis

from bot.audit.log import DurableAuditLog
from bot.audit.owed import BURNED, TAMPERED
from bot.domain import LINK_PRINCIPAL, AuditAction
from bot.secrets.external import WebClient, WebOutcome, encode_link_key
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import WebLimits
from bot.secrets.web_reveal import WebRevealService
from bot.storage import KeySpace, RedisSecretStore
from bot.storage.audit_stream import AuditStream
from bot.storage.owed import OwedEvents
from bot.storage.quota import Caps, RedisQuota
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.web_codes import RedisWebCodes
from tests.conftest import keyring_of_test_keys
from tests.unit.test_reveal_round_trips import CountingConnection
from tests.unit.test_sharing import SECRET
from tests.unit.test_web_reveal_service import CLIENT, OPEN, Names, external

KEYS = KeySpace("ss")


class Web:
    """The web page's service on a client whose round trips are counted."""

    def __init__(self, client: Redis, limits: WebLimits) -> None:
        keyring = keyring_of_test_keys()
        self.quota = RedisQuota(client, keys=KEYS, caps=Caps())
        self.store = RedisSecretStore(client, keys=KEYS, keyring=keyring,
                                      metadata_retention_seconds=3600, quota=self.quota)
        self.stream = AuditStream(client, prefix="ss", retention_seconds=3600)
        self.sharing = SharingService(store=self.store, keyring=keyring)
        self.service = WebRevealService(
            sharing=self.sharing, store=self.store, codes=RedisWebCodes(client, keys=KEYS),
            counter=RedisRateCounter(client, keys=KEYS), names=Names(),
            audit=DurableAuditLog(self.stream, logger=logging.getLogger("test"),
                                  owed=OwedEvents(client, keys=KEYS)),
            keyring=keyring, logger=logging.getLogger("test"), limits=limits)

    async def link(self, **changes):
        share = await self.sharing.share_external(external(**changes), policy=OPEN)
        return share.record.secret_id, encode_link_key(share.link_key)

    async def reveal(self, secret_id: str, key: str, client: WebClient = CLIENT):
        return await self.service.reveal(secret_id, link_key=key, client=client)

    async def events(self, secret_id: str):
        return [e for e in reversed(await self.stream.latest(count=100))
                if e.secret_id == secret_id]


@pytest.fixture
async def web(redis_url, redis_sync):
    client = Redis.from_url(redis_url, connection_class=CountingConnection)
    made = Web(client, WebLimits(reveals_per_ip=1000, reveals_per_secret=1000))
    yield made
    await made.service.close()
    await client.aclose()


def handle(secret_id: str) -> str:
    return secret_id.replace("-", "")[:12]


async def test_a_link_reveal_is_one_round_trip_before_its_answer(web, redis_sync):
    await web.reveal(*await web.link())  # Redis has the script now (a first call loads it)
    secret_id, key = await web.link()
    CountingConnection.sent = 0
    result = await web.reveal(secret_id, key)
    assert CountingConnection.sent == 1
    assert (result.outcome, result.text, result.last_view) == (
        WebOutcome.REVEALED, SECRET, True)
    # The step burned it: the ciphertext is gone, and the events it owes are owed in
    # Redis (a process that died now would leave them for the sweep) until recorded.
    assert not redis_sync.exists(f"ss:{{{handle(secret_id)}}}:c")
    owes = {f"opened:{secret_id}:1".encode(), f"burned:{secret_id}".encode()}
    assert owes <= set(redis_sync.hkeys(f"ss:{{{handle(secret_id)}}}:o"))
    assert redis_sync.zscore("ss:owed", handle(secret_id)) is not None
    await web.service.settled()
    assert not owes & set(redis_sync.hkeys(f"ss:{{{handle(secret_id)}}}:o"))
    events = await web.events(secret_id)
    assert [(e.action, e.actor, e.mode, e.client_ip) for e in events[-2:]] == [
        (AuditAction.SECRET_OPENED, LINK_PRINCIPAL, "external", CLIENT.ip),
        (AuditAction.SECRET_BURNED, LINK_PRINCIPAL, "external", CLIENT.ip)]
    assert events[-1].detail == BURNED
    # Out of the expiry index, and its room given back but its metadata's.
    assert redis_sync.zscore("ss:expiries", handle(secret_id)) is None
    assert not redis_sync.zscore("ss:quota:{quota}:T1:UALICE:held", handle(secret_id))


async def test_many_reveals_share_their_follow_ups_round_trips(web, redis_sync, monkeypatch):
    # The follow-ups gather for a second here, not 10 ms, so that on a loaded machine
    # their round trips cannot land among the reveals' own.
    monkeypatch.setattr("bot.secrets.followups.GATHER_SECONDS", 1.0)
    warm = [await web.link() for _ in range(20)]
    await asyncio.gather(*(web.reveal(*link) for link in warm))  # 20 connections open now
    await web.service.settled()
    links = [await web.link() for _ in range(20)]
    CountingConnection.sent = 0
    results = await asyncio.gather(*(web.reveal(i, k) for i, k in links))
    assert [r.outcome for r in results] == [WebOutcome.REVEALED] * 20
    assert CountingConnection.sent == 20
    await web.service.settled()
    # Audit appends, their settling, the expiry index and the quota: one round trip
    # each for all twenty (a Slack reveal's follow-up alone takes more).
    assert CountingConnection.sent - 20 <= 4
    for secret_id, _ in links:
        assert not {f"opened:{secret_id}:1".encode(), f"burned:{secret_id}".encode()} & set(
            redis_sync.hkeys(f"ss:{{{handle(secret_id)}}}:o"))
        assert [e.action for e in await web.events(secret_id)][-2:] == [
            AuditAction.SECRET_OPENED, AuditAction.SECRET_BURNED]


async def test_a_view_limit_is_shared_by_concurrent_holders(web):
    secret_id, key = await web.link(view_mode="total", total_views="5")
    results = await asyncio.gather(*(web.reveal(secret_id, key) for _ in range(30)))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(WebOutcome.REVEALED) == 5
    assert outcomes.count(WebOutcome.GONE) == 25
    assert [r.last_view for r in results].count(True) == 1
    await web.service.settled()
    assert [e.action for e in await web.events(secret_id)].count(
        AuditAction.SECRET_OPENED) == 5


async def test_a_key_the_ring_no_longer_holds_uses_nothing(web, redis_sync, redis_url):
    secret_id, key = await web.link()
    client = Redis.from_url(redis_url)
    other = Web(client, WebLimits())
    # A process whose ring lacks the secret's key (removed too early): nothing is taken.
    other.service._links._key_ids = ("k9",)
    result = await other.reveal(secret_id, key)
    assert result.outcome is WebOutcome.GONE
    assert redis_sync.exists(f"ss:{{{handle(secret_id)}}}:c")
    assert (await web.reveal(secret_id, key)).text == SECRET
    failed = [e for e in await web.events(secret_id) if e.action is AuditAction.REVEAL_FAILED]
    assert failed
    assert "not used up" in failed[0].detail
    await other.service.close()
    await client.aclose()


async def test_changed_metadata_is_never_shown(web, redis_sync):
    secret_id, key = await web.link(view_mode="total", total_views="3")
    # Someone with Redis access raises the views (outside the seal's sum: `left` alone).
    redis_sync.hset(f"ss:{{{handle(secret_id)}}}:m", "left", "9")
    result = await web.reveal(secret_id, key)
    assert result.outcome is WebOutcome.GONE
    assert result.text is None
    await web.service.settled()
    events = await web.events(secret_id)
    assert [(e.action, e.detail) for e in events][-1] == (AuditAction.REVEAL_FAILED, TAMPERED)
    assert f"opened:{secret_id}:1".encode() not in redis_sync.hkeys(
        f"ss:{{{handle(secret_id)}}}:o")


async def test_a_damaged_token_is_not_shown_and_is_audited(web, redis_sync):
    secret_id, key = await web.link()
    name = f"ss:{{{handle(secret_id)}}}:c"
    token = bytearray(redis_sync.get(name))
    token[-1] ^= 1
    redis_sync.set(name, bytes(token))
    result = await web.reveal(secret_id, key)
    assert result.outcome is WebOutcome.GONE
    await web.service.settled()
    actions = [(e.action, e.detail) for e in await web.events(secret_id)]
    assert actions[-2][0] is AuditAction.REVEAL_FAILED
    assert "damaged" in actions[-2][1]
    assert actions[-1] == (AuditAction.SECRET_BURNED, BURNED)


async def test_a_view_in_the_two_step_path_asks_to_wait(web):
    """A view claimed by the two-step path (an earlier release's process, say) is in
    flight: the one-step reveal answers "opening" and takes nothing."""
    secret_id, key = await web.link(view_mode="total", total_views="2")
    claim = await web.store.claim(secret_id, user_id=LINK_PRINCIPAL, team_id="T1", now=1e9)
    assert claim.ciphertext
    assert (await web.reveal(secret_id, key)).outcome is WebOutcome.OPENING
    await web.store.release(secret_id, user_id=LINK_PRINCIPAL)
    assert (await web.reveal(secret_id, key)).outcome is WebOutcome.REVEALED


async def test_limits_are_checked_in_the_step(redis_url, redis_sync):
    client = Redis.from_url(redis_url)
    strict = Web(client, WebLimits(reveals_per_ip=1000, reveals_per_secret=2))
    secret_id, key = await strict.link(view_mode="unlimited")
    outcomes = [(await strict.reveal(secret_id, key)).outcome for _ in range(3)]
    assert outcomes == [WebOutcome.REVEALED, WebOutcome.REVEALED, WebOutcome.RATE_LIMITED]
    await strict.service.close()
    per_client = Web(client, WebLimits(reveals_per_ip=2, reveals_per_secret=1000))
    other_id, other_key = await per_client.link(view_mode="unlimited")
    elsewhere = WebClient("198.51.100.9")
    outcomes = [(await per_client.reveal(other_id, other_key, elsewhere)).outcome
                for _ in range(3)]
    assert outcomes == [WebOutcome.REVEALED, WebOutcome.REVEALED, WebOutcome.RATE_LIMITED]
    limited = await per_client.reveal(other_id, other_key, elsewhere)
    assert limited.retry_after
    assert 1 <= limited.retry_after <= 600
    await per_client.service.close()
    await client.aclose()


async def test_email_and_passphrase_secrets_take_the_two_step_path(web, redis_sync):
    secret_id, key = await web.link(passphrase="correct horse")
    before = redis_sync.zcard(f"ss:{{{handle(secret_id)}}}:r")
    assert (await web.reveal(secret_id, key)).outcome is WebOutcome.NEEDS_PASSPHRASE
    # Counted once (by the two-step path), not by the step that handed it over.
    assert redis_sync.zcard(f"ss:{{{handle(secret_id)}}}:r") == before + 1
    result = await web.service.reveal(secret_id, link_key=key, client=CLIENT,
                                      passphrase="correct horse")
    assert result.text == SECRET
