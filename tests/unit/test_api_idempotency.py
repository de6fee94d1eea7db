"""Idempotency-Key's marks on a real Redis: a request settles or frees only its own mark,
and what is kept opens only with the token that made it."""

from __future__ import annotations

import asyncio

import pytest

from bot.api import idempotency
from bot.api.idempotency import Claim, IdempotentCreates, Replay
from bot.errors import ApiRefusal
from bot.storage import KeySpace, OnceMarks, connect
from tests.conftest import redis_contents

BEARER, OTHER = "shsec_" + "A" * 49, "shsec_" + "B" * 49
BODY = {"secret": "hunter2", "audience": {"link": True}}
ANSWER = Replay(201, {"code": "ABCD-EFGH-JKMN", "url": "https://x.test/s/id#LINKKEY123"})


@pytest.fixture
async def creates(redis_url, redis_sync):
    client = connect(redis_url)
    yield IdempotentCreates(OnceMarks(client, keys=KeySpace()))
    await client.aclose()


async def begin(creates, bearer=BEARER, body=BODY):
    return await creates.begin(bearer=bearer, token_id="TOKEN1", key="k-1", payload=body)


async def test_a_retry_gets_the_first_answer_and_nothing_readable_is_kept(creates,
                                                                           redis_sync):
    claim = await begin(creates)
    assert isinstance(claim, Claim)
    assert await creates.finish(claim, bearer=BEARER, token_id="TOKEN1", key="k-1",
                                payload=BODY, answer=ANSWER)
    assert await begin(creates) == ANSWER
    dump = redis_contents(redis_sync)
    for needle in ("LINKKEY123", "hunter2", "k-1", BEARER):
        assert needle not in dump


async def test_another_token_cannot_open_or_reuse_what_is_kept(creates):
    claim = await begin(creates)
    await creates.finish(claim, bearer=BEARER, token_id="TOKEN1", key="k-1", payload=BODY,
                         answer=ANSWER)
    # Same token id, another bearer (a forged token of the same id): another mark name,
    # so it is a new request, never the kept answer.
    assert isinstance(await begin(creates, bearer=OTHER), Claim)
    with pytest.raises(ApiRefusal) as refused:
        await begin(creates, body={**BODY, "label": "another"})
    assert refused.value.kind == "idempotency-key-reused"


async def test_a_request_whose_mark_expired_neither_settles_nor_frees_the_next_ones(
        creates, monkeypatch):
    monkeypatch.setattr(idempotency, "PENDING_SECONDS", 1)
    slow = await begin(creates)
    await asyncio.sleep(1.2)  # its mark expired: a retry takes the key
    retry = await begin(creates)
    assert isinstance(slow, Claim)
    assert isinstance(retry, Claim)
    # The slow one ends: it may not overwrite the retry's mark, nor free it.
    assert not await creates.finish(slow, bearer=BEARER, token_id="TOKEN1", key="k-1",
                                    payload=BODY, answer=Replay(201, {"code": "SLOW"}))
    await creates.abandon(slow, token_id="TOKEN1")
    with pytest.raises(ApiRefusal) as waiting:
        await begin(creates)
    assert waiting.value.kind == "idempotency-in-progress"
    assert await creates.finish(retry, bearer=BEARER, token_id="TOKEN1", key="k-1",
                                payload=BODY, answer=ANSWER)
    assert await begin(creates) == ANSWER
