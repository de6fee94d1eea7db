"""A retried audit append finds its first try by the nonce's mark, not by reading the
stream: with many events since the first try, the retry still costs one lookup (a real
Redis; Redis's own command statistics tell what ran)."""

from __future__ import annotations

import time

from bot.storage import connect
from bot.storage.audit_stream import MARK_MS, AuditStream
from tests.unit.test_audit_outbox import event

STREAM = "ss:{audit}:events"


async def test_a_retry_finds_its_entry_by_the_mark_and_reads_no_stream(redis_url, redis_sync):
    """An append whose answer was lost, retried after thousands of other events, is found
    (nothing stored twice) without the stream being read."""
    client = connect(redis_url)
    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    first = await stream.append(event(1), nonce="opened:abc:1")
    for n in range(2, 2002):
        await stream.append(event(n), nonce=f"n{n}")
    redis_sync.config_resetstat()
    again = await stream.append(event(1), nonce="opened:abc:1",
                                retry_since=time.time() - 600)
    assert again == first
    assert redis_sync.xlen(STREAM) == 2001
    assert "cmdstat_xrange" not in redis_sync.info("commandstats")
    assert 0 < redis_sync.pttl("ss:{audit}:n:opened:abc:1") <= MARK_MS
    await client.aclose()


async def test_an_entry_older_than_its_mark_is_found_in_the_stream(redis_url, redis_sync):
    """An entry appended before its mark could still exist (two days ago) is looked for
    among the older entries, and found: the retry stores nothing."""
    client = connect(redis_url)
    stream = AuditStream(client, prefix="ss", retention_seconds=30 * 86400)
    old_ms = int((time.time() - 2 * 86400) * 1000)
    redis_sync.xadd(STREAM, {"event": "secret_opened", "at": str(old_ms / 1000),
                             "actor": "U0BOB", "team": "T0ACME", "n": "opened:old:1"},
                    id=f"{old_ms}-0")
    await stream.append(event(2), nonce="recent")
    again = await stream.append(event(1, at=old_ms / 1000), nonce="opened:old:1",
                                retry_since=old_ms / 1000 - 60)
    assert again == f"{old_ms}-0"
    assert redis_sync.xlen(STREAM) == 2
    await client.aclose()


async def test_a_retry_of_an_event_never_stored_appends_it_once(redis_url, redis_sync):
    """The first try never reached Redis: the retry appends it, and a second retry then
    finds that entry."""
    client = connect(redis_url)
    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    since = time.time() - 60
    stored = await stream.append(event(1), nonce="created:xyz", retry_since=since)
    assert await stream.append(event(1), nonce="created:xyz", retry_since=since) == stored
    assert redis_sync.xlen(STREAM) == 1
    await client.aclose()


async def test_an_entry_comes_back_as_it_was_appended_alone_or_with_others(redis_url,
                                                                            redis_sync):
    """APPEND takes an entry's fields packed in one argument: every field, in any script
    and with any characters, is stored as given."""
    from dataclasses import replace

    client = connect(redis_url)
    stream = AuditStream(client, prefix="ss", retention_seconds=86400)
    odd = replace(event(1), at=1796600000.125, detail='Zoë\'s "key", ✓ [1,2] {x} \\ end',
                  mode="external", client_ip="2001:db8::1", user_agent="Mozilla/5.0 (Ünïcode)")
    alone = await stream.append(odd, nonce="n1")
    together = await stream.append_all([(replace(odd, actor="U2"), "n2"),
                                        (event(3), "n3")])
    found = {e.event_id: e for e in await stream.between(count=10)}
    assert replace(found[alone], event_id=None) == odd
    assert replace(found[together[0]], event_id=None) == replace(odd, actor="U2")
    assert redis_sync.xrange(STREAM)[0][1][b"detail"] == odd.detail.encode()
    await client.aclose()
