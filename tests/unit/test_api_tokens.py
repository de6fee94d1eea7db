"""API tokens on a real Redis: created, verified, listed and revoked; names and limits;
only a digest stored; a record changed in Redis refused; key rotation re-seals them."""

from __future__ import annotations

import logging

import pytest

from bot.api.bearer import TOKEN_PREFIX, digest
from bot.api.tokens import CLI_ACTOR, MAX_TOKENS, ApiToken, ApiTokens
from bot.crypto import MasterKey, StaticKeyRing
from bot.errors import StorageUnavailable, ValidationFailed
from bot.storage import KeySpace, connect
from tests.conftest import redis_contents

KEYS = KeySpace("ss")


@pytest.fixture
async def client(redis_url, redis_sync):
    redis = connect(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
def tokens(client, keyring):
    return ApiTokens(client, keys=KEYS, keyring=keyring, clock=lambda: 1_800_000_000.5)


async def test_a_created_token_verifies_as_itself(tokens):
    token, text = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0ADMIN",
                                      receipts_to="C0DEPLOYS")
    assert text.startswith(TOKEN_PREFIX)
    assert len(text) == 55
    assert token == ApiToken(token_id=token.token_id, team_id="T1", name="deploy-bot",
                             created_at=1_800_000_000.0, created_by="U0ADMIN",
                             receipts_to="C0DEPLOYS")
    assert len(token.token_id) == 8
    assert token.token_id.isalnum()
    assert token.token_id.isupper()
    assert token.principal == f"api:{token.token_id}:deploy-bot"
    assert await tokens.verify(text) == token
    assert await tokens.list("T1") == [token]
    assert await tokens.list("T2") == []


async def test_the_token_text_is_nowhere_in_redis(tokens, redis_sync):
    """Every key and value after creating tokens: the bearer text, or its random part, is
    in none of them; only its SHA-256 names the record."""
    made = [await tokens.create(team_id="T1", name=f"bot-{n}", created_by="U0ADMIN")
            for n in range(3)]
    everything = b"\n".join(redis_contents(redis_sync))
    assert everything
    for _, text in made:
        assert text.encode() not in everything
        assert text[len(TOKEN_PREFIX):-6].encode() not in everything
        assert text[len(TOKEN_PREFIX):len(TOKEN_PREFIX) + 16].encode() not in everything
        assert redis_sync.exists(KEYS.api_token(digest(text)))


async def test_names_are_checked(tokens):
    for bad in ["", "Deploy", "-deploy", ".x", "a" * 41, "two words", "déploi", "a/b",
                "<!channel>"]:
        with pytest.raises(ValidationFailed) as refused:
            await tokens.create(team_id="T1", name=bad, created_by="U0ADMIN")
        assert "1 to 40 characters" in refused.value.errors["name"]
    for good in ["a", "9", "deploy-bot", "ci.staging_2", "a" * 40]:
        await tokens.create(team_id="T1", name=good, created_by="U0ADMIN")
    for bad in ["#general", "D0123", "c0123", "U", "C0 12"]:
        with pytest.raises(ValidationFailed) as refused:
            await tokens.create(team_id="T1", name="x", created_by="U0ADMIN",
                                receipts_to=bad)
        assert "receipts_to" in refused.value.errors
    assert len(await tokens.list("T1")) == 5


async def test_a_live_name_is_taken_once_per_workspace(tokens):
    first, _ = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0ADMIN")
    with pytest.raises(ValidationFailed) as refused:
        await tokens.create(team_id="T1", name="deploy-bot", created_by="U0OTHER")
    assert "already named deploy-bot" in refused.value.errors["name"]
    await tokens.create(team_id="T2", name="deploy-bot", created_by="U0ADMIN")
    assert await tokens.revoke(team_id="T1", name_or_id="deploy-bot") == first
    again, _ = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0ADMIN")
    assert again.token_id != first.token_id


async def test_a_workspace_holds_at_most_so_many_live_tokens(tokens):
    for n in range(MAX_TOKENS):
        await tokens.create(team_id="T1", name=f"t{n}", created_by=CLI_ACTOR)
    with pytest.raises(ValidationFailed) as refused:
        await tokens.create(team_id="T1", name="one-more", created_by=CLI_ACTOR)
    assert f"{MAX_TOKENS} API tokens, the most allowed" in refused.value.errors["name"]
    await tokens.create(team_id="T2", name="one-more", created_by=CLI_ACTOR)
    await tokens.revoke(team_id="T1", name_or_id="t7")
    await tokens.create(team_id="T1", name="one-more", created_by=CLI_ACTOR)
    assert len(await tokens.list("T1")) == MAX_TOKENS


async def test_revoking_by_name_or_id_refuses_the_token_at_once(tokens, redis_sync):
    one, one_text = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0A")
    two, two_text = await tokens.create(team_id="T1", name="backup", created_by="U0A")
    assert await tokens.revoke(team_id="T2", name_or_id="deploy-bot") is None  # not theirs
    assert await tokens.revoke(team_id="T1", name_or_id="DEPLOY-BOT ") == one
    assert await tokens.verify(one_text) is None
    assert not redis_sync.exists(KEYS.api_token(digest(one_text)))
    assert await tokens.revoke(team_id="T1", name_or_id="deploy-bot") is None  # once
    assert await tokens.revoke(team_id="T1", name_or_id=two.token_id.lower()) == two
    assert await tokens.verify(two_text) is None
    assert await tokens.list("T1") == []
    assert redis_sync.hgetall(KEYS.api_tokens("T1")) == {}


async def test_a_malformed_token_is_refused_without_asking_redis(keyring):
    """With Redis unreachable, a mistyped or invented token is still refused at once
    (no lookup), while a well-formed one needs Redis."""
    unreachable = connect("redis://127.0.0.1:1/0")
    tokens = ApiTokens(unreachable, keys=KEYS, keyring=keyring)
    well_formed = "shsec_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0pXQgb"
    for bad in [well_formed[:-1] + "c", well_formed[:-1], "shsec_", "", "Bearer x",
                well_formed.upper(), well_formed + " "]:
        assert await tokens.verify(bad) is None
    with pytest.raises(StorageUnavailable):
        await tokens.verify(well_formed)
    with pytest.raises(StorageUnavailable):
        await tokens.create(team_id="T1", name="x", created_by="U0A")
    await unreachable.aclose()


@pytest.mark.parametrize("change", [
    {"team": "T2"}, {"name": "other"}, {"to": "U0EVE"}, {"by": "U0EVE"}, {"id": "AAAAAAAA"},
    {"at": "1"}, {"h": "0" * 64}, {"h": "\u00e9" * 64}, {"name": b"\xff"},
    {"mac": "k1:" + "A" * 22}, {"mac": "k\u00e9:" + "A" * 22}, {"mac": "nonsense"}],
    ids=lambda c: next(iter(c)))
async def test_a_record_changed_in_redis_is_refused(tokens, redis_sync, change):
    _token, text = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0A",
                                      receipts_to="C0DEPLOYS")
    redis_sync.hset(KEYS.api_token(digest(text)), mapping=change)
    assert await tokens.verify(text) is None
    assert await tokens.list("T1") == []
    assert await tokens.revoke(team_id="T1", name_or_id="deploy-bot") is not None


async def test_a_removed_field_or_seal_is_refused(tokens, redis_sync):
    _, first = await tokens.create(team_id="T1", name="a", created_by="U0A", receipts_to="C0X")
    _, second = await tokens.create(team_id="T1", name="b", created_by="U0A")
    redis_sync.hdel(KEYS.api_token(digest(first)), "to")
    redis_sync.hdel(KEYS.api_token(digest(second)), "mac")
    assert await tokens.verify(first) is None
    assert await tokens.verify(second) is None


async def test_a_record_copied_or_forged_in_redis_is_refused(tokens, redis_sync):
    """Someone who can write to Redis cannot add a working token: a record copied under
    the digest of a text of their own fails (the digest is sealed), and so does one
    sealed with a key of their own."""
    _, real = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0A")
    mine = "shsec_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0pXQgb"
    copied = redis_sync.hgetall(KEYS.api_token(digest(real)))
    redis_sync.hset(KEYS.api_token(digest(mine)), mapping=copied)
    assert await tokens.verify(mine) is None
    forger = ApiTokens(tokens._store._redis, keys=KeySpace("forged"), keyring=StaticKeyRing(
        [MasterKey("k1", bytes(32))]))
    _, forged = await forger.create(team_id="T1", name="evil", created_by="U0EVE")
    redis_sync.hset(KEYS.api_token(digest(forged)),
                    mapping=redis_sync.hgetall(KeySpace("forged").api_token(digest(forged))))
    assert await tokens.verify(forged) is None
    assert await tokens.verify(real) is not None


async def test_a_refused_record_is_logged_once_without_the_token(tokens, redis_sync, caplog):
    token, text = await tokens.create(team_id="T1", name="deploy-bot", created_by="U0A")
    redis_sync.hset(KEYS.api_token(digest(text)), "to", "U0EVE")
    with caplog.at_level(logging.WARNING, logger="bot.api"):
        for _ in range(3):
            assert await tokens.verify(text) is None
    warnings = [r for r in caplog.records if r.name == "bot.api"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert token.token_id in message
    assert text not in message
    assert digest(text) not in message


async def test_key_rotation_reseals_tokens_under_the_first_key(client, keyring, redis_sync):
    """A token stays valid while the key that sealed it is configured; `reseal` moves it
    to the ring's first key, after which the old key can go."""
    old = ApiTokens(client, keys=KEYS, keyring=keyring)
    token, text = await old.create(team_id="T1", name="deploy-bot", created_by="U0A")
    _, broken = await old.create(team_id="T1", name="broken", created_by="U0A")
    redis_sync.hset(KEYS.api_token(digest(broken)), "to", "U0EVE")
    new_key = MasterKey("k2", bytes(range(1, 33)))
    both = ApiTokens(client, keys=KEYS, keyring=StaticKeyRing([new_key, *[
        keyring.key(k) for k in keyring.key_ids]]))
    only_new = ApiTokens(client, keys=KEYS, keyring=StaticKeyRing([new_key]))
    assert await both.seal_key_ids() == {"k1": 2}
    assert await only_new.verify(text) is None
    assert await both.reseal() == {"rotated": 1, "current": 0, "ended": 0, "changed": 0,
                                   "refused": 1}
    assert await both.seal_key_ids() == {"k2": 1, "k1": 1}
    assert await only_new.verify(text) == token
    assert await both.reseal() == {"rotated": 0, "current": 1, "ended": 0, "changed": 0,
                                   "refused": 1}
