"""HTTP plumbing: a threaded HTTP/1.1 server on 127.0.0.1 that hands requests to an app.

Nothing here knows about Slack. Each connection gets a daemon thread, so a slow
answer (the stand-in's `latency`) never holds up another request, and keep-alive
works because every answer carries an exact Content-Length. async_server.py serves
the same apps on one event loop.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

# Bodies larger than this are refused: no Web API call the bot makes comes close,
# and a cap keeps a runaway test from eating memory.
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """One decoded HTTP request."""

    verb: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value, looked up case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


class HttpAnswer(Protocol):
    """What an app returns: a status, headers and encoded body."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def encoded(self) -> tuple[bytes, str]: ...


# What an answer waits for before it leaves: seconds (latency, a stall) or a gate a
# test opens (a held answer).
Wait = float | threading.Event
# An app's work for one request: a generator that yields each wait and returns the answer.
Steps = Generator[Wait, None, HttpAnswer]
App = Callable[[HttpRequest], Steps]

HOLD_LIMIT_SECONDS = 60.0  # a held answer a test forgot to release still leaves, late


def run_blocking(steps: Steps) -> HttpAnswer:
    """Carry out an app's steps on this thread, blocking through each wait."""
    while True:
        try:
            wait = next(steps)
        except StopIteration as done:
            answer: HttpAnswer = done.value
            return answer
        if isinstance(wait, threading.Event):
            wait.wait(timeout=HOLD_LIMIT_SECONDS)
        else:
            time.sleep(wait)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default listen backlog (5) refuses connections under a burst of hundreds of
    # concurrent clients; the benchmark opens that many at once.
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (a bot killed by a test) is not a bug here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackStandIn/1.0"
    # An idle keep-alive connection is closed after this many seconds so that its
    # thread ends even when a client never hangs up. Longer than aiohttp's 15 s
    # keep-alive, so a pooled client connection is never closed under a request.
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the recorded calls, not an access log

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        request = HttpRequest(
            verb=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=body,
        )
        try:
            answer = run_blocking(self.server.app(request))
            if getattr(answer, "lost", False):
                # Models an answer lost on the way back: the caller cannot know whether
                # the call happened (it did).
                self.close_connection = True
                return
            payload, content_type = answer.encoded()
            status, headers = answer.status, dict(answer.headers)
        except Exception:
            # A bug in the stand-in must be loud, not a hung test.
            traceback.print_exc()
            payload, content_type = b'{"ok":false,"error":"fatal_error"}', "application/json"
            status, headers = 500, {}
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.send_error(413 if length > 0 else 400)
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                self.send_error(413)
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()


class Transport(ABC):
    """How requests reach the app: `start()`, `stop()`, and `root_url` once started.
    A transport serves `app` on `host` and `port` (0: a free one)."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._address = (host, port)

    @property
    def root_url(self) -> str:
        """`http://host:port`, without a trailing slash."""
        port = self._bound_port()
        if port is None:
            raise RuntimeError("the server is not started")
        return f"http://{self._address[0]}:{port}"

    @abstractmethod
    def _bound_port(self) -> int | None:
        """The port it listens on, or None when not started."""

    @abstractmethod
    def start(self) -> None:
        """Bind and serve (a no-op when serving already)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""


class HttpServer(Transport):
    """A started-on-demand threaded HTTP server bound to 127.0.0.1 and a free port."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host=host, port=port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _bound_port(self) -> int | None:
        return None if self._server is None else self._server.server_port

    def start(self) -> None:
        """Bind and serve on a daemon thread."""
        if self._server is not None:
            return
        self._server = _Server(self._address, self._app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-stand-in",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            open_connections = list(server.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
