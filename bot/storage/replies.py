"""Redis replies, narrowed to the types the bot's clients actually return.

redis-py types a reply as a union that covers every client configuration (bytes or str,
with or without `decode_responses`; a list or a tuple). The bot's clients never decode
(values include raw ciphertext), so replies are bytes, lists and dicts of bytes: these
helpers state that once, check it at run time, and give the rest of the storage code
precise types. Anything else is a programming error and raises TypeError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def raw(value: object) -> bytes:
    """A bulk-string reply (bytes; a str only from a client configured otherwise)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"unexpected Redis reply type {type(value).__name__}")


def optional_raw(value: object) -> bytes | None:
    """A bulk-string reply that may be nil."""
    return None if value is None else raw(value)


def text(value: object) -> str:
    """A bulk-string or status reply as text (ids, codes, cursors)."""
    return raw(value).decode()


def optional_text(value: object) -> str | None:
    return None if value is None else text(value)


def texts(values: object) -> list[str]:
    """An array reply of bulk strings (ZRANGE and friends without scores)."""
    return [text(v) for v in array(values)]


def array(value: object) -> list[Any]:
    """An array reply (a script's table, a pipeline's results), or a set reply
    (SMEMBERS), as a list."""
    if isinstance(value, list | tuple | set):
        return list(value)
    raise TypeError(f"unexpected Redis reply type {type(value).__name__}")


def scored(value: object) -> list[tuple[str, float]]:
    """ZRANGE ... WITHSCORES: (member, score) pairs."""
    return [(text(member), float(score)) for member, score in array(value)]


def fields(value: object) -> dict[bytes, bytes]:
    """HGETALL (an empty dict when the key does not exist)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"unexpected Redis reply type {type(value).__name__}")
    return {raw(k): raw(v) for k, v in value.items()}


def stream_entries(value: object) -> list[tuple[str, dict[bytes, bytes]]]:
    """XRANGE / XREVRANGE: (entry id, fields) pairs (none for a nil reply)."""
    if value is None:
        return []
    entries: Sequence[Any] = array(value)
    return [(text(entry_id), fields(entry)) for entry_id, entry in entries]
