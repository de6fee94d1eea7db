"""HTTP plumbing on one event loop: the apps of server.py, served without a thread each.

For the benchmark, where the stand-in shares the machine with the bot it measures: a
thread per connection and a blocked thread per delayed answer cost CPU that real Slack
never costs the bot's machine, and with 100 ms of latency hundreds of answers wait at
once. Here httptools parses, uvloop (when installed) runs the loop on a daemon thread,
and an app's waits (latency, stalls, held answers) are asyncio sleeps.

On the wire it answers as server.py does: HTTP/1.1 keep-alive with an exact
Content-Length, chunked request bodies, 413 past MAX_BODY_BYTES, 400 for a malformed
request, 501 for verbs other than GET and POST, an answer that is "lost" closes the
connection unanswered, and idle connections close after IDLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import threading
import time
import traceback
from http.server import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE, BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httptools

from .server import (
    HOLD_LIMIT_SECONDS,
    MAX_BODY_BYTES,
    App,
    HttpAnswer,
    HttpRequest,
    Steps,
    Transport,
)

IDLE_SECONDS = 30.0  # as server.py's handler timeout (longer than aiohttp's 15 s keep-alive)
SERVER_HEADER = b"Server: SlackStandIn/1.0\r\n"
_REASONS = {code: short for code, (short, _) in BaseHTTPRequestHandler.responses.items()}


_date_cache: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    """The Date header, formatted once a second rather than for every answer."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, f"Date: {email.utils.formatdate(now, usegmt=True)}\r\n".encode())
    return _date_cache[1]


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n".encode(), SERVER_HEADER,
             _date_header()]
    lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers]
    return b"".join(lines) + b"\r\n"


def _error_bytes(status: int) -> bytes:
    """The answer http.server's send_error gives (same page, Connection: close)."""
    short, explain = BaseHTTPRequestHandler.responses[status]
    body = (DEFAULT_ERROR_MESSAGE % {"code": status, "message": short, "explain": explain}
            ).encode("UTF-8", "replace")
    return _head(status, [("Connection", "close"), ("Content-Type", DEFAULT_ERROR_CONTENT_TYPE),
                          ("Content-Length", str(len(body)))]) + body


class _Failed(Exception):
    """The app raised (its traceback is printed already)."""


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order, one at a time."""

    def __init__(self, server: _Serving) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._pending: collections.deque[tuple[HttpRequest, bool]] = collections.deque()
        self._busy = False
        self._refused: int | None = None  # the error status once a request is refused
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self.last_active = time.monotonic()

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment] # a TCP transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self._refused is not None:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400)
        except httptools.HttpParserError:
            self._refuse(400)

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", {}, [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        length = self._parser_header("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._refuse(413)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY_BYTES:
            self._refuse(413)
        elif self._refused is None:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._refused is not None:
            return
        verb = self._parser.get_method().decode("ascii", "replace")
        parts = urlsplit(self._url.decode("latin-1"))
        request = HttpRequest(verb=verb, path=parts.path,
                              query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                              headers=self._headers, body=b"".join(self._body))
        self._pending.append((request, self._parser.should_keep_alive()))
        if not self._busy:
            self._next()

    def idle_since(self, cutoff: float) -> bool:
        """Whether nothing came or left since `cutoff` and no answer is on its way."""
        return not self._busy and self.last_active < cutoff

    # -- answering ----------------------------------------------------------------------

    def _parser_header(self, name: str) -> str | None:
        for key, value in self._headers.items():
            if key.lower() == name:
                return value
        return None

    def _refuse(self, status: int) -> None:
        """Answer an error and close, as http.server does for a request it cannot read."""
        if self._refused is not None:
            return
        self._refused = status
        self._pending.clear()
        if self._transport is not None and not self._busy:
            self._transport.write(_error_bytes(status))
            self._transport.close()

    def _next(self) -> None:
        """Answer the oldest pending request: at once when its app does not wait, else on a
        task (answers leave in the order the requests came, as HTTP/1.1 requires)."""
        while self._pending and self._transport is not None:
            request, keep_alive = self._pending.popleft()
            if request.verb not in ("GET", "POST"):
                self._refuse(501)
                return
            try:
                steps = self._server.app(request)
                wait = next(steps)
            except StopIteration as done:
                self._send(done.value, keep_alive)
                continue
            except Exception:
                traceback.print_exc()  # a bug in the stand-in must be loud
                self._send(None, keep_alive)
                continue
            self._busy = True
            self._server.loop.create_task(self._wait_then_send(steps, wait, keep_alive))
            return

    async def _wait_then_send(self, steps: Steps, wait: Any, keep_alive: bool) -> None:
        answer: HttpAnswer | None = None
        try:
            while True:
                if isinstance(wait, threading.Event):
                    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
                    # A held answer is a test's tool: polling its gate costs no thread.
                    while not wait.is_set() and time.monotonic() < deadline:
                        await asyncio.sleep(0.005)
                else:
                    await asyncio.sleep(wait)
                wait = next(steps)
        except StopIteration as done:
            answer = done.value
        except Exception:
            traceback.print_exc()  # a bug in the stand-in must be loud
        self._busy = False
        self._send(answer, keep_alive)
        if self._refused is not None and self._transport is not None:
            # A request behind this one was refused meanwhile.
            self._transport.write(_error_bytes(self._refused))
            self._transport.close()
            return
        self._next()

    def _send(self, answer: HttpAnswer | None, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self.last_active = time.monotonic()
        try:
            if answer is None:
                raise _Failed
            if getattr(answer, "lost", False):
                # Models an answer lost on the way back: the caller cannot know whether
                # the call happened (it did).
                self._pending.clear()
                transport.close()
                return
            payload, content_type = answer.encoded()
            status, extra = answer.status, list(answer.headers.items())
        except Exception as error:
            # A bug in the stand-in must be loud, not a hung test.
            if not isinstance(error, _Failed):
                traceback.print_exc()
            payload, content_type = b'{"ok":false,"error":"fatal_error"}', "application/json"
            status, extra = 500, []
        headers = [("Content-Type", content_type), ("Content-Length", str(len(payload))), *extra]
        transport.write(_head(status, headers) + payload)
        if not keep_alive:
            transport.close()


class _Serving:
    """The loop's side: the listening socket and the open connections."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.connections: set[_Connection] = set()

    async def close_idle(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            cutoff = time.monotonic() - IDLE_SECONDS
            for connection in list(self.connections):
                if connection.idle_since(cutoff) and connection._transport is not None:
                    connection._transport.close()


class AsyncHttpServer(Transport):
    """A Transport served by an event loop on a thread."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host=host, port=port)
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def _bound_port(self) -> int | None:
        return self._port

    def start(self) -> None:
        """Bind, then serve on a daemon thread."""
        if self._thread is not None:
            return
        bound = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(bound, failure),
                                        name="slack-stand-in-loop", daemon=True)
        self._thread.start()
        bound.wait(10)
        if failure:
            raise failure[0]

    def _run(self, bound: threading.Event, failure: list[BaseException]) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
            loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(bound))
        except BaseException as error:  # handed to start()
            failure.append(error)
            bound.set()
        finally:
            loop.close()

    async def _serve(self, bound: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        serving = _Serving(self._app, loop)
        # A burst of hundreds of clients connects at once in the benchmark.
        server = await loop.create_server(lambda: _Connection(serving), *self._address,
                                          backlog=1024, reuse_address=True)
        self._port = server.sockets[0].getsockname()[1]
        self._stopped = asyncio.Event()
        idle = loop.create_task(serving.close_idle())
        bound.set()
        try:
            await self._stopped.wait()
        finally:
            idle.cancel()
            server.close()
            for connection in list(serving.connections):
                if connection._transport is not None:
                    connection._transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopped.set)
        thread.join(timeout=5)
        self._port = None
