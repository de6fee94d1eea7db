"""Socket Mode: the one-time websocket URLs apps.connections.open hands out, and the
websocket server behind them, on its own thread and event loop (aiohttp).

What Slack does (docs.slack.dev "Using Socket Mode" and the apps.connections.open
page; the message shapes are those python-slack-sdk's own socket mode tests use):
- apps.connections.open, called with the app-level token in `Authorization: Bearer`,
  answers `{"ok": true, "url": "wss://.../link/?ticket=...&app_id=..."}`;
- on connect Slack sends `{"type": "hello", "num_connections", "debug_info",
  "connection_info": {"app_id"}}`;
- each request arrives as `{"envelope_id", "type", "payload", "accepts_response_payload"}`
  (`events_api` adds `retry_attempt` and `retry_reason`), and the app acknowledges it
  with `{"envelope_id", "payload"?}`, the payload carrying what HTTP mode would put in
  the response body;
- connections are refreshed: Slack sends `{"type": "disconnect", "reason":
  "refresh_requested"}` (or `warning`, `link_disabled`) and later closes the socket.
unverified: whether a ticket works twice (here: once) and what Slack answers a used or
unknown ticket (here: HTTP 401 instead of the upgrade).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
# Interactive payloads whose acknowledgement may carry a response (a view_submission's
# response_action, a block_suggestion's options). unverified: the flag Slack sets on
# each; neither slack_sdk nor Bolt reads it, so it changes nothing for the bot.
_ANSWERED_INTERACTIONS = ("view_submission", "block_suggestion")


@dataclass(frozen=True)
class SocketAck:
    """One message the app sent back carrying an `envelope_id`.

    `message` is the whole JSON object as sent; `seconds` the time since the envelope
    left the stand-in (None for an envelope it never sent).
    """

    envelope_id: str
    message: dict[str, Any]
    seconds: float | None

    @property
    def payload(self) -> dict[str, Any] | None:
        """The acknowledgement's `payload` (the response), if any."""
        return self.message.get("payload")


class SocketModeServer:
    """Slack's side of Socket Mode for one app. Started on first use; thread-safe."""

    def __init__(self, *, app_id: str, host: str = "127.0.0.1") -> None:
        self._app_id = app_id
        self._host = host
        self._port = 0
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._changed = threading.Condition()  # an RLock inside; guards all below
        self._tickets: set[str] = set()
        self._open: list[tuple[web.Request, web.WebSocketResponse]] = []  # oldest first
        self._connections = 0
        self._sent_at: dict[str, float] = {}
        self._acks: list[SocketAck] = []
        self._other: list[Any] = []

    # -- what apps.connections.open answers ------------------------------------------

    def issue_url(self) -> str:
        """A fresh one-time websocket URL, as apps.connections.open answers it."""
        self._ensure_started()
        ticket = str(uuid.uuid4())
        with self._changed:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self._port}/link/?ticket={ticket}&app_id={self._app_id}"

    # -- what a test does ----------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many websocket connections were accepted so far."""
        with self._changed:
            return self._connections

    @property
    def open_connections(self) -> int:
        """How many websocket connections are open now."""
        with self._changed:
            return len(self._open)

    @property
    def acks(self) -> list[SocketAck]:
        """Every acknowledgement received, oldest first."""
        with self._changed:
            return list(self._acks)

    @property
    def other_messages(self) -> list[Any]:
        """Messages from the app that were not acknowledgements (apps send none)."""
        with self._changed:
            return list(self._other)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until `count` connections were made in all and one is open (hello sent)."""
        self._wait(lambda: self._connections >= count and bool(self._open), timeout,
                   f"{count} connection(s) with one open")

    def send_envelope(self, type: str, payload: dict[str, Any], *,
                      accepts_response_payload: bool | None = None,
                      retry_attempt: int = 0, retry_reason: str = "",
                      timeout: float = 5.0) -> str:
        """Deliver a request on the newest open connection; return its envelope_id.

        `accepts_response_payload` defaults to what Slack sets for the type: true for
        slash commands and view submissions, false otherwise.
        """
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope type must be one of {ENVELOPE_TYPES}")
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive" and payload.get("type") in _ANSWERED_INTERACTIONS)
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": type,
                                    "payload": payload,
                                    "accepts_response_payload": accepts_response_payload}
        if type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._send(envelope, timeout, sent_id=envelope_id)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """Block until the app acknowledges `envelope_id`; return the message it sent.

        The default timeout is Slack's: an envelope unacknowledged after 3 seconds is
        a failure the user sees (or, for events, a retry).
        """
        def found() -> SocketAck | None:
            return next((a for a in self._acks if a.envelope_id == envelope_id), None)

        with self._changed:  # re-entrant: _wait takes it again
            self._wait(lambda: found() is not None, timeout, f"an ack of {envelope_id}")
            ack = found()
        assert ack is not None
        return ack.message

    def disconnect(self, reason: str = "refresh_requested", timeout: float = 5.0) -> None:
        """Ask the app to reconnect, as Slack does before it refreshes a connection."""
        self._send({"type": "disconnect", "reason": reason,
                    "debug_info": {"host": "applink-stand-in"}}, timeout)

    def drop(self, *, abort: bool = False) -> None:
        """Close every open connection from Slack's side.

        By default with a websocket close frame (going away); with `abort` the TCP
        connection is cut without one, as a network failure would.
        """
        with self._changed:
            links = list(self._open)
        for request, socket in links:
            if abort and request.transport is not None:
                # The loop owns the transport: cut it from there, not from this thread.
                self._call(_abort(request), 5.0)
            else:
                self._call(socket.close(code=WSCloseCode.GOING_AWAY,
                                        message=b"stand-in dropped the link"), 5.0)

    def reset(self) -> None:
        """Forget acknowledgements, sent envelopes and other messages (not connections)."""
        with self._changed:
            self._sent_at.clear()
            self._acks.clear()
            self._other.clear()

    # -- lifecycle -----------------------------------------------------------------

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        with self._start_lock:
            loop = self._loop
            if loop is None:
                return
            with contextlib.suppress(Exception):  # a connection already gone
                self.drop()
            if self._runner is not None:
                self._call(self._runner.cleanup(), 10.0)
            self._loop = None
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            loop.close()

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, daemon=True,
                                            name="slack-stand-in-socket-mode")
            self._thread.start()
            self._loop = loop
            self._call(self._serve(), 10.0)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        # Open sockets are closed before cleanup, so shutdown never waits on them long.
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    # -- the websocket -------------------------------------------------------------

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._changed:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return web.Response(status=401, text="invalid_ticket")
        socket = web.WebSocketResponse()  # autoping answers the SDK's pings
        await socket.prepare(request)
        with self._changed:
            self._connections += 1
            count = len(self._open) + 1
        await socket.send_str(json.dumps({
            "type": "hello", "num_connections": count,
            "debug_info": {"host": "applink-stand-in", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self._app_id}}))
        with self._changed:  # open for envelopes only once hello has gone out
            self._open.append((request, socket))
            self._changed.notify_all()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._received(message.data)
        finally:
            with self._changed:
                self._open = [link for link in self._open if link[1] is not socket]
                self._changed.notify_all()
        return socket

    def _received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = text
        with self._changed:
            if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                envelope_id = message["envelope_id"]
                sent = self._sent_at.get(envelope_id)
                seconds = time.monotonic() - sent if sent is not None else None
                self._acks.append(SocketAck(envelope_id, message, seconds))
            else:
                self._other.append(message)
            self._changed.notify_all()

    def _send(self, message: dict[str, Any], timeout: float, sent_id: str | None = None) -> None:
        with self._changed:
            self._wait(lambda: bool(self._open), timeout, "an open connection")
            _, socket = self._open[-1]
            if sent_id is not None:
                self._sent_at[sent_id] = time.monotonic()
        self._call(socket.send_str(json.dumps(message)), timeout)

    def _call(self, work: Coroutine[Any, Any, Any], timeout: float) -> Any:
        loop = self._loop
        if loop is None:
            work.close()
            raise RuntimeError("the socket mode server is not started")
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout)

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"waited {timeout:.1f}s for {what}: {self._connections} connection(s) "
                        f"made, {len(self._open)} open, acks for "
                        f"{[a.envelope_id for a in self._acks]}")
                self._changed.wait(remaining)


async def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
