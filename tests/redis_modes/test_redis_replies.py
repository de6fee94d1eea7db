"""bot.storage.replies: replies of the bot's real Redis client, narrowed to precise types;
anything else is a TypeError rather than a value passed on."""

from __future__ import annotations

import pytest

from bot.storage import connect, replies


@pytest.fixture
async def client(redis_url, redis_sync):
    redis = connect(redis_url)
    yield redis
    await redis.aclose()


async def test_replies_of_the_real_client_narrow_to_their_types(client):
    """GET, HGETALL, SMEMBERS, ZRANGE (with scores), XRANGE and a script's table, as the
    bot's client (no decode_responses) answers them."""
    await client.set("k", b"\x00\xffraw")
    await client.hset("h", mapping={"a": "1", "b": "é"})
    await client.sadd("s", "U1", "U2")
    await client.zadd("z", {"one": 1.5, "two": 2})
    entry = await client.xadd("x", {"event": "secret_opened"})
    table = await client.eval("return {'claimed', 'x', 7}", 0)

    assert replies.raw(await client.get("k")) == b"\x00\xffraw"
    assert replies.optional_raw(await client.get("missing")) is None
    assert replies.fields(await client.hgetall("h")) == {b"a": b"1", b"b": "é".encode()}
    assert replies.fields(await client.hgetall("missing")) == {}
    assert sorted(replies.texts(await client.smembers("s"))) == ["U1", "U2"]
    assert replies.scored(await client.zrange("z", 0, -1, withscores=True)) == [
        ("one", 1.5), ("two", 2.0)]
    assert replies.stream_entries(await client.xrange("x")) == [
        (replies.text(entry), {b"event": b"secret_opened"})]
    assert replies.array(table)[:2] == [b"claimed", b"x"]
    assert replies.optional_text(await client.get("missing")) is None


@pytest.mark.parametrize(("helper", "value"), [
    (replies.raw, 7), (replies.raw, None), (replies.text, [b"x"]), (replies.array, b"x"),
    (replies.fields, [b"a", b"1"]), (replies.stream_entries, b"x"),
])
def test_unexpected_reply_types_are_programming_errors(helper, value):
    """A reply of another type raises TypeError, naming the type, never the value."""
    with pytest.raises(TypeError, match="unexpected Redis reply type") as caught:
        helper(value)
    assert str(caught.value) == f"unexpected Redis reply type {type(value).__name__}"
