"""The Redis installation and OAuth state stores, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.storage import KeySpace, connect
from bot.storage.installations import RedisInstallationStore, RedisOAuthStateStore
from tests.conftest import redis_contents

TOKEN_A, TOKEN_A2 = "xoxb-111-222-firsttokenofacmeabc", "xoxb-111-222-secondtokenofacmexyz"


def installation(team: str | None, user: str, token: str, **extra) -> Installation:
    return Installation(app_id="A1", team_id=team, team_name=(team or "org").lower(),
                        bot_token=token, bot_id="B1", bot_user_id="UBOT",
                        bot_scopes="commands,chat:write", user_id=user, **extra)


@pytest.fixture
async def stores(redis_url, redis_sync, keyring):
    client = connect(redis_url)
    yield (RedisInstallationStore(client, keys=KeySpace("ss"), keyring=keyring),
           RedisOAuthStateStore(client, keys=KeySpace("ss")))
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


async def test_a_state_is_consumed_once_even_by_racing_callbacks(stores, redis_sync):
    """Of twenty simultaneous callbacks with one state exactly one succeeds; an unknown
    state fails; a state expires with its TTL."""
    _, states = stores
    state = await states.async_issue()
    assert len(state) >= 40
    assert 590 <= redis_sync.ttl(f"ss:oauth-state:{state}") <= 600
    results = await asyncio.gather(*(states.async_consume(state) for _ in range(20)))
    assert results.count(True) == 1
    assert not await states.async_consume(state)
    assert not await states.async_consume("never-issued")
    assert not await states.async_consume("")
