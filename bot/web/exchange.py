"""ASGI's types, and the steps every route shares: reading headers, reading a body under a
size limit, and sending a whole response."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from bot.errors import TooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str | Sequence[str]]:
    """Headers by (lower-case, as ASGI gives them) name with every value, as Bolt takes
    them."""
    values: dict[str, list[str]] = {}
    for key, value in raw:
        values.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
    result: dict[str, str | Sequence[str]] = {**values}
    return result


def first(headers: dict[str, str | Sequence[str]], name: str) -> str | None:
    """The first value of a header, or None."""
    values = headers.get(name)
    if values is None or isinstance(values, str):
        return values
    return values[0] if values else None


def declared_length(headers: dict[str, str | Sequence[str]]) -> int:
    """The Content-Length a request declares (0 when absent or unreadable: the body is
    still counted as it is read)."""
    try:
        return int(first(headers, "content-length") or "0")
    except ValueError:
        return 0


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; TooLarge past `limit` bytes, or when the client went away."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise TooLarge  # client went away; answer and forget
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_whole(send: Send, status: int, body: bytes, content_type: str, *,
                     headers: Headers = (), head: bool = False) -> None:
    """One response with its Content-Length; `head`: the same headers, no body."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_json(send: Send, status: int, payload: dict[str, Any],
                    headers: Headers = ()) -> None:
    """A JSON response."""
    await send_whole(send, status, json.dumps(payload).encode(), "application/json",
                     headers=headers)
