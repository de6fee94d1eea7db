"""Redis before and after a request: what changed, compared precisely.

Hostile requests may change nothing but the audit of a refusal; these helpers take a
snapshot of every key (type, contents, TTL) and compare two of them.
"""

from __future__ import annotations

from typing import Any

import redis

# Written on their own schedule, by any bot process on this Redis, never by a request:
# the audit outbox's cursor and lease, and the sweep's reminder cursor (the session's
# subprocess bot sweeps every 30 s while other tests run).
BOOKKEEPING_KEYS = {b"ss:{audit}:delivered", b"ss:{audit}:lease", b"ss:reminded-until"}
AUDIT_STREAM = b"ss:{audit}:events"
REFUSAL_EVENTS = {b"access_denied"}


def snapshot(client: redis.Redis) -> dict[bytes, Any]:
    """Every key but the bookkeeping ones: its type, contents and whether and how long it
    lives."""
    found: dict[bytes, Any] = {}
    for key in client.scan_iter(count=1000):
        if key in BOOKKEEPING_KEYS:
            continue
        kind = client.type(key)
        if kind == b"string":
            value: Any = client.get(key)
        elif kind == b"hash":
            value = client.hgetall(key)
        elif kind == b"set":
            value = client.smembers(key)
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"stream":
            value = client.xrange(key)
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} at {key!r}")
        found[key] = (kind, value, client.pttl(key))
    return found


def assert_unchanged(before: dict[bytes, Any], after: dict[bytes, Any]) -> set[bytes]:
    """Nothing changed but refusals appended to the audit stream (a TTL may only run
    down, never be set, lifted or extended)."""
    assert set(after) - {AUDIT_STREAM} == set(before) - {AUDIT_STREAM}, \
        f"keys appeared or vanished: {set(after) ^ set(before)}"
    for key, (kind, value, ttl) in before.items():
        if key == AUDIT_STREAM:
            continue
        new_kind, new_value, new_ttl = after[key]
        assert (new_kind, new_value) == (kind, value), f"{key!r} changed"
        assert (ttl < 0) == (new_ttl < 0), f"{key!r}'s TTL was set or lifted"
        assert new_ttl <= ttl, f"{key!r}'s TTL was extended"
    old = before.get(AUDIT_STREAM, (b"stream", [], -1))[1]
    new = after.get(AUDIT_STREAM, (b"stream", [], -1))[1]
    assert new[:len(old)] == old, "audit entries were changed or removed"
    added = {fields[b"event"] for _, fields in new[len(old):]}
    assert added <= REFUSAL_EVENTS, f"audited {added}"
    return added
