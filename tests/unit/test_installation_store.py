"""The Redis installation and OAuth state stores, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.storage import KeySpace, connect
from bot.storage.installations import RedisInstallationStore, RedisOAuthStateStore
from devtools.harness.clock import FakeClock
from tests.conftest import redis_contents

TOKEN_A, TOKEN_A2 = "xoxb-111-222-firsttokenofacmeabc", "xoxb-111-222-secondtokenofacmexyz"


def installation(team: str | None, user: str, token: str, **extra) -> Installation:
    return Installation(app_id="A1", team_id=team, team_name=(team or "org").lower(),
                        bot_token=token, bot_id="B1", bot_user_id="UBOT",
                        bot_scopes="commands,chat:write", user_id=user, **extra)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
async def stores(redis_url, redis_sync, keyring, clock):
    client = connect(redis_url)
    yield (RedisInstallationStore(client, keys=KeySpace("ss"), keyring=keyring),
           RedisOAuthStateStore(client, keys=KeySpace("ss"), keyring=keyring, clock=clock))
    await client.aclose()


async def test_save_find_and_delete_like_slack_sdk_stores(stores, redis_sync):
    """The latest bot and installation per workspace; a user's installation carries the
    workspace's latest bot token; deleting one user, then everything."""
    installations, _ = stores
    await installations.async_save(installation("T1", "U1", TOKEN_A))
    await installations.async_save(installation("T1", "U2", TOKEN_A2))
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == TOKEN_A2
    latest = await installations.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None
    assert latest.user_id == "U2"
    first = await installations.async_find_installation(enterprise_id=None, team_id="T1",
                                                        user_id="U1")
    assert first is not None
    assert first.bot_token == TOKEN_A2  # filled in from the latest bot
    assert await installations.async_find_bot(enterprise_id=None, team_id="T2") is None

    await installations.async_delete_installation(enterprise_id=None, team_id="T1",
                                                  user_id="U1")
    assert await installations.async_find_installation(
        enterprise_id=None, team_id="T1", user_id="U1") is None
    assert await installations.async_find_installation(enterprise_id=None, team_id="T1")
    await installations.async_delete_all(enterprise_id=None, team_id="T1")
    assert await installations.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await installations.async_find_installation(enterprise_id=None, team_id="T1") \
        is None
    assert list(redis_sync.scan_iter("ss:install:*")) == []


async def test_tokens_are_encrypted_and_bound_to_their_workspace(stores, redis_sync):
    """No token is readable in Redis; a value copied under another workspace's key does
    not decrypt (that workspace reads as not installed)."""
    installations, _ = stores
    await installations.async_save(installation("T1", "U1", TOKEN_A))
    assert not any(TOKEN_A.encode() in value for value in redis_contents(redis_sync))
    redis_sync.set("ss:install:{T-T2}:bot", redis_sync.get("ss:install:{T-T1}:bot"))
    assert await installations.async_find_bot(enterprise_id=None, team_id="T2") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T1")


async def test_org_wide_install_belongs_to_the_organisation(stores):
    """An Enterprise Grid org-wide install is found by its enterprise id, whatever team."""
    installations, _ = stores
    await installations.async_save(installation(None, "U1", TOKEN_A, enterprise_id="E1",
                                                is_enterprise_install=True))
    bot = await installations.async_find_bot(enterprise_id="E1", team_id="T9",
                                             is_enterprise_install=True)
    assert bot is not None
    assert bot.bot_token == TOKEN_A


async def test_a_state_is_consumed_once_even_by_racing_callbacks(stores, redis_sync, clock):
    """Issuing writes nothing; of twenty simultaneous callbacks with one state exactly one
    succeeds, and its mark lives as long as the state would; a state never issued, one
    tampered with, one past its 10 minutes or one under a key not in the ring fails."""
    _, states = stores
    issued = [await states.async_issue() for _ in range(50)]
    # (by name: the session's bot process shares this Redis and keeps its own keys there)
    assert redis_sync.keys("ss:oauth-state:*") == []
    state = issued[0]
    clock.now += 100
    results = await asyncio.gather(*(states.async_consume(state) for _ in range(20)))
    assert results.count(True) == 1
    [mark] = redis_sync.keys("ss:oauth-state:*")
    assert 490 <= redis_sync.ttl(mark) <= 500
    assert not await states.async_consume(state)
    key_id, at, nonce, mac = issued[1].split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    for forged in ("never-issued", "", f"{key_id}.{at}.{nonce}.{flipped}",
                   f"{key_id}.{int(at) + 1}.{nonce}.{mac}", issued[1] + "x",
                   f"k2.{at}.{nonce}.{mac}"):
        assert not await states.async_consume(forged), forged
    clock.now += 501  # issued[1] is now 601 s old
    assert not await states.async_consume(issued[1])
    assert await states.async_consume(await states.async_issue())


def test_states_are_checked_under_the_key_they_name():
    """A state issued before a key rotation is still good while its key is in the ring;
    one from another deployment (other keys) is not; a state from the future is not."""
    from bot.crypto import MasterKey, StaticKeyRing, oauth_state
    from bot.errors import InvalidToken

    old, new = MasterKey("k1", bytes(range(32))), MasterKey("k2", bytes(32))
    before = oauth_state.issue(StaticKeyRing([old]), now=1000)
    stamp = oauth_state.verify(before, StaticKeyRing([new, old]), now=1500)
    assert stamp.issued_at == 1000
    for ring, now in [(StaticKeyRing([new]), 1500),
                      (StaticKeyRing([MasterKey("k1", bytes(32))]), 1500),
                      (StaticKeyRing([old]), 1000 - oauth_state.SKEW_SECONDS - 1)]:
        with pytest.raises(InvalidToken):
            oauth_state.verify(before, ring, now=now)


async def test_of_many_installs_at_once_exactly_one_is_the_first(redis_url, redis_sync):
    """The first install is decided in Redis in one step: of twenty at once, one makes its
    installer an admin; after the workspace forgets its settings (uninstall), the next
    install is first again."""
    from bot.storage.team_settings import TeamSettingsStore

    client = connect(redis_url)
    settings = TeamSettingsStore(client, keys=KeySpace("ss"))
    users = [f"U{n:02d}" for n in range(20)]
    firsts = await asyncio.gather(*(settings.first_install("T1", u, installed_before=False)
                                    for u in users))
    assert firsts.count(True) == 1
    winner = users[firsts.index(True)]
    assert (await settings.get("T1")).admins == {winner}
    await settings.remove_admin("T1", winner)
    # no admin left, still installed
    assert not await settings.first_install("T1", "U99", installed_before=False)
    await settings.forget("T1")
    assert redis_sync.exists("ss:team-settings:T1") == 0
    assert await settings.first_install("T1", "U99", installed_before=False)
    assert (await settings.get("T1")).admins == {"U99"}
    await client.aclose()


async def test_settings_from_before_the_install_mark_never_read_as_a_first_install(
        redis_url, redis_sync):
    """A workspace installed before settings kept an install mark has only admin fields.
    Removing its last listed admin leaves the hash (now marked), so a later installer is
    not its first; a workspace whose installation is stored is never first again, with
    or without settings, and its settings are not created for it (a first install
    racing with it must still find none); existing ones gain the missing mark."""
    from bot.storage.team_settings import TeamSettingsStore

    client = connect(redis_url)
    settings = TeamSettingsStore(client, keys=KeySpace("ss"))
    redis_sync.hset("ss:team-settings:T1", "admin:UADMIN", "1")
    assert await settings.remove_admin("T1", "UADMIN")
    assert redis_sync.hgetall("ss:team-settings:T1") == {b"installed": b""}
    assert not await settings.first_install("T1", "UEVE", installed_before=False)
    assert (await settings.get("T1")).admins == frozenset()
    assert not await settings.remove_admin("T1", "UNOBODY")
    assert not await settings.remove_admin("T4", "UNOBODY")  # no settings: none made
    assert redis_sync.exists("ss:team-settings:T4") == 0

    assert not await settings.first_install("T2", "UEVE", installed_before=True)
    assert redis_sync.exists("ss:team-settings:T2") == 0
    redis_sync.hset("ss:team-settings:T3", "audit_channel", "C1")
    assert not await settings.first_install("T3", "UEVE", installed_before=True)
    assert redis_sync.hgetall("ss:team-settings:T3") == {b"audit_channel": b"C1",
                                                         b"installed": b""}
    await client.aclose()


async def test_a_stored_installation_or_bot_says_the_workspace_was_installed(
        stores, redis_sync):
    """Installed: its latest installation or its bot is stored, even one that no longer
    decrypts; not after everything is deleted (the app was removed)."""
    installations, _ = stores
    assert not await installations.has_installation("T1")
    await installations.async_save(installation("T1", "U1", TOKEN_A))
    assert await installations.has_installation("T1")
    assert not await installations.has_installation("T2")
    await installations.async_delete_bot(enterprise_id=None, team_id="T1")  # tokens_revoked
    assert await installations.has_installation("T1")
    redis_sync.set("ss:install:{T-T1}:latest", b"damaged")
    assert await installations.has_installation("T1")
    await installations.async_delete_all(enterprise_id=None, team_id="T1")
    assert not await installations.has_installation("T1")
