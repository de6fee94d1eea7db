"""The load generator: a separate, lean process driving one server over HTTP/1.1.

    python -m benchmarks.load < spec.json > result.json

Closed loop: `concurrency` keep-alive connections, each sending its next request as
soon as the previous answer is in. Open loop (a `rate` in the spec): requests on a fixed
schedule, whatever the answers do (`run_open`). Requests are built from templates by string
substitution and signed as Slack signs them (HMAC-SHA256 over "v0:ts:body"); the HTTP
client is a minimal asyncio protocol on uvloop, not aiohttp, so that the generator
takes as little as possible of the CPU it shares with the servers it measures.

Trigger ids and response_urls must come from the Slack stand-in (it checks them), so
for the bot's reveal and slash-command runs a background task mints them in batches
through the stand-in's `/bench/mint` route, a little ahead of use.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import resource
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlsplit

MINT_BATCH = 64
MINT_LOW_WATER = 96
MAX_OPEN_CONNECTIONS = 1024  # an open loop's, when answers lag far behind its schedule


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._transport: Any = None  # uvloop's transports are not asyncio.Transport
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        parsed = parse_response(self._buffer)
        if parsed is not None and self._waiter is not None and not self._waiter.done():
            status, body, used = parsed
            del self._buffer[:used]
            self._waiter.set_result((status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def parse_response(buffer: bytes | bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes used) for one complete response at the buffer's start, or None.

    Handles Content-Length and chunked bodies (uvicorn chunks when the app gives no
    length).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length, chunked = 0, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    start = end + 4
    if not chunked:
        if len(buffer) < start + length:
            return None
        return status, bytes(buffer[start:start + length]), start + length
    body, pos = bytearray(), start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return status, bytes(body), trailer_end + 2
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos:pos + size]
        pos += size + 2


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def http_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Prepared:
    """One request, ready to send, and the key that matches it to Slack calls later."""

    path: str
    body: bytes
    headers: dict[str, str]
    key: str | None


@dataclass
class Source:
    """Builds the next request of a run from the spec (built by `benchmarks.http_runs`)."""

    spec: dict[str, Any]
    control: tuple[str, int] | None = None
    pool: deque[tuple[Any, str, str]] = field(default_factory=deque)
    cursor: int = 0
    exhausted: bool = False
    minting: asyncio.Task[None] | None = None
    refilled: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.kind = self.spec["kind"]
        self.secret = self.spec.get("signing_secret", "").encode()
        self.template: str = self.spec.get("template", "")
        self.items: list[Any] = self.spec.get("items", [])
        if self.spec.get("mint_url"):
            parts = urlsplit(self.spec["mint_url"])
            self.control = (parts.hostname or "127.0.0.1", parts.port or 80)

    async def next(self) -> Prepared | None:
        if self.control is not None:
            return await self._next_minted()
        if self.kind in ("snappass_reveal", "web_reveal", "block_actions", "slash") and \
                self.cursor >= len(self.items):
            self.exhausted = True
            return None
        item = self.items[self.cursor] if self.items else None
        n = self.cursor
        self.cursor += 1
        return self._build(item, n, trigger=f"{int(time.time())}.{n}.fake",
                           response_url="http://127.0.0.1:9/response/none")

    async def _next_minted(self) -> Prepared | None:
        while not self.pool:
            if self.cursor >= len(self.items) and self.minting is None:
                self.exhausted = True
                return None
            self._ensure_minting()
            self.refilled.clear()
            await self.refilled.wait()
        if len(self.pool) < MINT_LOW_WATER:
            self._ensure_minting()
        item, trigger, response_url = self.pool.popleft()
        return self._build(item, 0, trigger=trigger, response_url=response_url)

    def _ensure_minting(self) -> None:
        if self.minting is None and self.cursor < len(self.items):
            self.minting = asyncio.get_running_loop().create_task(self._mint())

    async def _mint(self) -> None:
        try:
            batch = self.items[self.cursor:self.cursor + MINT_BATCH]
            self.cursor += len(batch)
            channel = self.spec["channel"]
            users = [item[1] if isinstance(item, list) else item for item in batch]
            assert self.control is not None
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(HttpConnection, *self.control)
            body = json.dumps({"items": [[channel, u] for u in users]}).encode()
            status, answer = await conn.request(http_request(
                "/bench/mint", body, {"Content-Type": "application/json",
                                      "Connection": "close"}))
            conn.close()
            if status != 200:
                raise RuntimeError(f"mint failed: HTTP {status}")
            for item, (trigger, url) in zip(batch, json.loads(answer)["items"], strict=True):
                self.pool.append((item, trigger, url))
        finally:
            self.minting = None
            self.refilled.set()

    def _build(self, item: Any, n: int, *, trigger: str, response_url: str) -> Prepared:
        kind = self.kind
        if kind == "snappass_reveal":
            return Prepared("/" + quote_plus(item), b"", {
                "Content-Type": "application/x-www-form-urlencoded"}, None)
        if kind == "web_reveal":
            # The page's own POST: the link key in the body, the page's origin, and (the
            # bot behind a proxy it trusts) a client address of its own per request, as
            # many people opening their links would have.
            secret_id, key = item
            return Prepared(f"/s/{secret_id}/reveal", f'{{"key":"{key}"}}'.encode(), {
                "Content-Type": "application/json", "Origin": self.spec["origin"],
                "X-Forwarded-For": client_address(n)}, None)
        if kind == "snappass_create":
            return Prepared("/", self.template.encode(), {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json"}, None)
        if kind == "api_create":
            return Prepared("/api/v1/secrets", self.template.encode(), {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.spec['token']}"}, None)
        if kind == "block_actions":
            secret_id, user = item
            body, key = (self.template.replace("__SECRET__", secret_id)
                         .replace("__USER__", user)
                         .replace("__TRIGGER__", quote_plus(trigger))
                         .replace("__RESPONSE__", quote_plus(response_url))
                         .replace("__TS__", f"{time.time():.6f}")), trigger
        elif kind == "slash":
            user = item
            body, key = (self.template.replace("__USER__", user)
                         .replace("__TRIGGER__", quote_plus(trigger))
                         .replace("__RESPONSE__", quote_plus(response_url))), trigger
        elif kind == "view_submission":
            prefix, pool = self.spec["sender_prefix"], self.spec["recipients"]
            sender = f"{prefix}{n:07d}"
            first, second = pool[(2 * n) % len(pool)], pool[(2 * n + 1) % len(pool)]
            # Slack gives every opened form a view id of its own, and the bot counts a
            # form submitted twice (same view id) once.
            view_id = f"V{uuid.uuid4().hex[:14].upper()}"
            body, key = (self.template.replace("__USER__", sender)
                         .replace("__VIEW__", view_id)
                         .replace("__R1__", first).replace("__R2__", second)
                         .replace("__TRIGGER__", quote_plus(trigger))), sender
        else:
            raise ValueError(f"unknown kind {kind}")
        raw = body.encode()
        ts = str(int(time.time()))
        return Prepared("/slack/events", raw, {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(self.secret, ts, raw)}, key)


def client_address(n: int) -> str:
    """The n-th of 2^24 distinct addresses in 10.0.0.0/8."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("rate"):
        return await run_open(spec)
    host, port = spec["host"], spec["port"]
    loop = asyncio.get_running_loop()
    source = Source(spec)
    conns = [(await loop.create_connection(HttpConnection, host, port))[1]
             for _ in range(spec["concurrency"])]
    started = time.perf_counter()
    measure_from = started + spec["warmup"]
    stop_at = measure_from + spec["duration"]
    records: list[list[Any]] = []  # key, wall time sent, seconds to answer, status
    errors: dict[str, int] = {}
    last_done = [measure_from]
    sent = [0]

    async def worker(conn: HttpConnection) -> None:
        while time.perf_counter() < stop_at:
            prepared = await source.next()
            if prepared is None:
                return
            raw = http_request(prepared.path, prepared.body, prepared.headers)
            wall, t0 = time.time(), time.perf_counter()
            try:
                status, _ = await conn.request(raw)
            except ConnectionError:
                errors["connection closed"] = errors.get("connection closed", 0) + 1
                return
            t1 = time.perf_counter()
            sent[0] += 1
            if t0 >= measure_from:
                records.append([prepared.key, wall, t1 - t0, status])
                last_done[0] = max(last_done[0], t1)
                if status not in (200, 201):  # 201: a create that stored its secret
                    errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + 1

    await asyncio.gather(*(worker(c) for c in conns))
    return await _finished(conns, source, records=records, sent=sent[0], errors=errors,
                           window=max(1e-9, last_done[0] - measure_from),
                           measure_from_wall=time.time() - (time.perf_counter() - measure_from))


async def _finished(conns: list[HttpConnection], source: Source, **result: Any
                    ) -> dict[str, Any]:
    """Close the connections, let a mint in flight end; the run's result."""
    for conn in conns:
        conn.close()
    if source.minting is not None:
        await source.minting
    usage = resource.getrusage(resource.RUSAGE_SELF)
    records, sent = result.pop("records"), result.pop("sent")
    return {"records": records, "sent_total": sent, "exhausted": source.exhausted, **result,
            "cpu_seconds": usage.ru_utime + usage.ru_stime}


async def run_open(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop: a request every 1/rate seconds on schedule, whether or not earlier ones
    were answered (on a free keep-alive connection, or a new one). Each is timed from its
    scheduled moment, so time spent queueing, in the server or here, counts: a closed
    loop, which waits for answers, hides it."""
    host, port, rate = spec["host"], spec["port"], float(spec["rate"])
    loop = asyncio.get_running_loop()
    source = Source(spec)
    idle = [(await loop.create_connection(HttpConnection, host, port))[1]
            for _ in range(spec.get("concurrency") or 1)]
    started = time.perf_counter()
    wall_at_start = time.time()
    measure_from = started + spec["warmup"]
    stop_at = measure_from + spec["duration"]
    records: list[list[Any]] = []  # key, wall time scheduled, seconds to answer, status
    errors: dict[str, int] = {}
    last_done = [measure_from]
    sent = [0]
    opened = [len(idle)]

    async def one(prepared: Prepared, due: float) -> None:
        conn = idle.pop() if idle else None
        if conn is None:
            if opened[0] >= MAX_OPEN_CONNECTIONS:
                errors["no connection"] = errors.get("no connection", 0) + 1
                return
            opened[0] += 1
            conn = (await loop.create_connection(HttpConnection, host, port))[1]
        try:
            status, _ = await conn.request(http_request(prepared.path, prepared.body,
                                                        prepared.headers))
        except ConnectionError:
            errors["connection closed"] = errors.get("connection closed", 0) + 1
            return
        done = time.perf_counter()
        sent[0] += 1
        idle.append(conn)
        if due >= measure_from:
            records.append([prepared.key, wall_at_start + (due - started), done - due, status])
            last_done[0] = max(last_done[0], done)
            if status not in (200, 201):
                errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + 1

    tasks: set[asyncio.Task[None]] = set()
    due = started
    while due < stop_at:
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        prepared = await source.next()
        if prepared is None:
            break
        task = loop.create_task(one(prepared, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        due += 1.0 / rate
    if tasks:
        await asyncio.wait(set(tasks), timeout=60)
    # The measured window is the schedule's: requests answered late still count in it.
    return await _finished(idle, source, records=records, sent=sent[0], errors=errors,
                           window=spec["duration"],
                           late=round(max(0.0, last_done[0] - stop_at), 3),
                           measure_from_wall=wall_at_start + spec["warmup"],
                           connections=opened[0])


def main() -> int:
    spec = json.load(sys.stdin)
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency of the bot's server
        runner = asyncio.run
    result = runner(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
