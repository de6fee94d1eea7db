"""Redis before and after a request: what changed, compared precisely.

Hostile requests may change nothing but the audit of a refusal; these helpers take a
snapshot of every key (type, contents, TTL) and compare two of them.
"""

from __future__ import annotations

from typing import Any

import redis

# Written on their own schedule, by any bot process on this Redis, never by a request:
# the audit outbox's cursor, lease and batch in flight, and the sweep's reminder cursor
# (the session's subprocess bot sweeps every 30 s while other tests run).
# The owed-events index (bot.storage.owed) too: the sweep drops entries of secrets that
# owe nothing any more on its own schedule (the owed events themselves are compared).
BOOKKEEPING_KEYS = {b"ss:{audit}:delivered", b"ss:{audit}:lease", b"ss:{audit}:pending",
                    b"ss:reminded-until", b"ss:owed"}
AUDIT_STREAM = b"ss:{audit}:events"
# What a refusal writes to the audit stream (past a person's REFUSAL_AUDIT_LIMIT, a count
# of them, once their window is over).
REFUSAL_EVENTS = {b"access_denied", b"rate_limited", b"refusals_merged"}
# Rate-limit windows (bot.secrets.limits): every attempt, a refused one too, counts against the
# person who made it, by design, so that hostile clicking runs into the limit.
RATE_WINDOWS = b"ss:rate:"
# Marks that a delivery from Slack was taken in (bot.handlers.once: a click's trigger id,
# an event id, a form's view id), so that a replay of it does nothing: written for every
# such request, a hostile one too, by design.
ONCE_MARKS = b"ss:once:"
# That someone opened the app's Home tab (bot.storage.home_seen): an event Slack sends as
# it is, hostile or not, marks it; a string that expires, as the marks above.
HOME_SEEN = b"ss:home-seen:"
# Each audit entry's nonce mark (bot.storage.audit_stream.APPEND): it holds the id of
# the entry appended with it, and expires.
AUDIT_MARKS = b"ss:{audit}:n:"
# The audit stream's indexes (by workspace, actor and share code), written with each
# entry: they may gain the ids of the entries appended.
AUDIT_INDEXES = (b"ss:{audit}:team:", b"ss:{audit}:actor:", b"ss:{audit}:code:")
# Each person's count of refusals in a window (bot.audit.refusals): every refusal counts.
REFUSAL_COUNTS = b"ss:refusals:"


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
    """Nothing changed but refusals appended to the audit stream, attempts added to
    rate-limit windows and marks of requests taken in (a TTL may only run down, never be
    set, lifted or extended). Returns the kinds of audit events added."""
    marks = {k for k in {*before, *after} if k.startswith((ONCE_MARKS, HOME_SEEN))}
    for key in (marks & set(after)) - set(before):
        assert after[key][0] == b"string", f"{key!r} is not a mark"
        assert after[key][2] > 0, f"{key!r} does not expire"
    audit_marks = {k for k in {*before, *after} if k.startswith(AUDIT_MARKS)}
    for key in (audit_marks & set(after)) - set(before):
        assert after[key][0] == b"string", f"{key!r} is not a mark"
        assert after[key][2] > 0, f"{key!r} does not expire"
        entries = after.get(AUDIT_STREAM, (b"stream", [], -1))[1]
        assert after[key][1] in {i for i, _ in entries}, f"{key!r} names no audit entry"
    for key in audit_marks & set(before):
        assert after.get(key, before[key])[1] == before[key][1], f"{key!r} changed"
    marks |= audit_marks
    old_entries = {i for i, _ in before.get(AUDIT_STREAM, (b"stream", [], -1))[1]}
    new_entries = {i for i, _ in after.get(AUDIT_STREAM, (b"stream", [], -1))[1]}
    indexes = {k for k in {*before, *after} if k.startswith(AUDIT_INDEXES)}
    for key in indexes & set(after):
        old_ids = {m for m, _ in before.get(key, (b"zset", [], -1))[1]}
        new_ids = {m for m, _ in after[key][1]}
        assert after[key][0] == b"zset", f"{key!r} is not an index"
        assert old_ids <= new_ids, f"{key!r} lost entries"
        assert new_ids - old_ids <= new_entries - old_entries, f"{key!r} names no new entry"
    counts = {k for k in {*before, *after} if k.startswith(REFUSAL_COUNTS)}
    for key in counts & set(after):
        assert after[key][2] > 0, f"{key!r} does not expire"
        assert int(after[key][1]) >= int(before.get(key, (b"string", b"0", -1))[1]), \
            f"{key!r} went down"
    marks |= indexes | counts
    before = {k: v for k, v in before.items() if k not in marks}
    after = {k: v for k, v in after.items() if k not in marks}
    kept = {AUDIT_STREAM} | {k for k in {*before, *after} if k.startswith(RATE_WINDOWS)}
    assert set(after) - kept == set(before) - kept, \
        f"keys appeared or vanished: {set(after) ^ set(before)}"
    for key in kept - {AUDIT_STREAM} - set(after):  # expired meanwhile: its own TTL
        assert key in before
    for key in (kept - {AUDIT_STREAM}) & set(after):
        old_window = {m for m, _ in before.get(key, (b"zset", [], -1))[1]}
        assert after[key][0] == b"zset", f"{key!r} is not a window"
        assert old_window <= {m for m, _ in after[key][1]}, f"{key!r} lost attempts"
    for key, (kind, value, ttl) in before.items():
        if key in kept:
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


def redis_contents(client: redis.Redis) -> list[bytes]:
    """Every key and every value in the database, read by type (DUMP may compress)."""
    found: list[bytes] = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"none":
            continue  # gone since the scan (a running bot's audit outbox comes and goes)
        found.append(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                found += [field, value]
        elif kind == b"set":
            found += list(client.smembers(key))
        elif kind == b"zset":
            found += [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == b"list":
            found += client.lrange(key, 0, -1)
        elif kind == b"stream":
            for _, fields in client.xrange(key):
                for field, value in fields.items():
                    found += [field, value]
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} at {key!r}")
    return found


def strings_in(value: object) -> list[str]:
    """Every string inside a decoded JSON value (so a search is not fooled by escaping)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []
