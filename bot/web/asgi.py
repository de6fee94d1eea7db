"""The HTTP face of the bot, as a small ASGI app served by uvicorn.

Routes: POST /slack/events (commands, interactivity, events) to Bolt, GET /healthz
(liveness), GET /readyz (readiness: Redis and the keys), GET /metrics (Prometheus), with
OAuth GET /slack/install and /slack/oauth_redirect (Bolt's install flow), the HTTP API
for scripts under /api/ (bot.api.routes), and with PUBLIC_URL the web pages of external
secrets (bot.web.pages). Bodies are size-limited
before they are read in full.

What the bot's counts and state tell is not for anyone who can reach the public port:
/metrics is served there only to a bearer of METRICS_TOKEN (404 without one configured),
and /readyz answers only ok or not, its reason for that bearer. METRICS_PORT adds a
listener of its own (on METRICS_HOST, loopback by default) that serves only /healthz,
/readyz with its reason, and /metrics (still asking for the token when one is set).

Every response carries the security headers of bot.web.headers.
"""

from __future__ import annotations

import gc
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

from bot.config import Settings
from bot.errors import MalformedRequest, TooLarge
from bot.runtime import Runtime
from bot.telemetry import context
from bot.telemetry.metrics import CONTENT_TYPE as METRICS_TYPE
from bot.web import inbound
from bot.web.bolt_request import ParsedBoltRequest
from bot.web.exchange import (
    Message,
    Receive,
    Scope,
    Send,
    declared_length,
    first,
    header_map,
    read_body,
    send_json,
)
from bot.web.headers import SecurityHeaders
from bot.web.pages import Pages
from bot.web.signing import SignatureCheck

EVENTS_PATH = "/slack/events"
OPERATIONS_PATHS = ("/healthz", "/readyz", "/metrics")
MAX_BODY_BYTES = 512 * 1024  # Slack's largest payloads (a full modal's state) are far smaller


class BotASGI:
    """ASGI application; the runtime is built at lifespan start-up and closed at shutdown."""

    def __init__(self, settings: Settings, *, logger: logging.Logger | None = None,
                 clock: Callable[[], float] = time.time, freeze_heap: bool = False,
                 runtime: Runtime | None = None) -> None:
        """`freeze_heap`: once started, exempt what start-up built from garbage collection
        (`settle_heap`); for a server process of its own, not for one a test shares.
        `runtime`: one already running (Socket Mode's, whose HTTP listener serves the
        pages); lifespan then neither starts nor closes it."""
        self._settings = settings
        self._settle_heap = freeze_heap
        self._clock = clock
        self._logger = logger or logging.getLogger("bot")
        secret = settings.slack_signing_secret
        self._signature = SignatureCheck(secret.get_secret_value() if secret else "")
        token = settings.metrics_token
        self._metrics_token = token.get_secret_value().encode() if token else None
        origin = settings.public_origin
        self._headers = SecurityHeaders(https=origin is not None and origin.startswith("https:"))
        self._pages = Pages(settings.public_url, trusted_proxies=settings.trusted_proxies,
                            logger=self._logger, clock=clock) if settings.public_url else None
        self._owns_runtime = runtime is None
        self.runtime: Runtime | None = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            # Each HTTP request runs in a task of its own: the id stays with this one.
            context.bind(request_id=context.new_request_id())
            secured = _Started(self._headers.wrap(send, csp=not self._install_page(scope)))
            try:
                await self._http(scope, receive, secured)
            except Exception as exc:
                # Answered here, with the security headers, rather than by the server's
                # bare 500; logged by type and frames only (a message could quote input).
                self._logger.error("unhandled error serving %s: %s", scope.get("path"),
                                   type(exc).__name__)
                if secured.started:
                    raise
                await send_json(secured, 500, {"ok": False, "error": "internal error"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup" and not self._owns_runtime:
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.startup":
                try:
                    self.runtime = await Runtime.start(self._settings, logger=self._logger,
                                                       clock=self._clock)
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self._settle_heap:
                    settle_heap()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.runtime is not None and self._owns_runtime:
                    await self.runtime.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        runtime = self.runtime
        private = self._on_metrics_listener(scope)
        if runtime is None:
            await send_json(send, 503, {"ok": False, "error": "starting"})
        elif private or (path in OPERATIONS_PATHS and method in ("GET", "HEAD")):
            await self._operations(runtime, scope, send, private=private)
        elif path == EVENTS_PATH and not self._settings.socket_mode:
            if method != "POST":
                await send_json(send, 405, {"ok": False, "error": "method not allowed"})
                return
            await self._slack(runtime, scope, receive, send)
        elif method == "GET" and self._install_page(scope):
            await self._install(runtime, scope, send)
        elif runtime.api is not None and runtime.api.serves(path):
            await runtime.api.handle(scope, receive, send)
        elif self._pages is not None and self._pages.serves(path):
            await self._pages.handle(runtime.external, scope, receive, send)
        else:
            await send_json(send, 404, {"ok": False, "error": "not found"})

    def _install_page(self, scope: Scope) -> bool:
        """Whether the request is for one of OAuth's install pages (Bolt's, not ours)."""
        flow = self.runtime.bolt.oauth_flow if self.runtime is not None else None
        return flow is not None and scope["path"] in (flow.install_path, flow.redirect_uri_path)

    def _on_metrics_listener(self, scope: Scope) -> bool:
        """Whether the request came in on METRICS_PORT's listener (the local address's
        port: the socket it was accepted on)."""
        port = self._settings.metrics_port
        server = scope.get("server")
        return port is not None and server is not None and server[1] == port

    def _bearer(self, scope: Scope) -> bool:
        """Whether the request carries METRICS_TOKEN as its bearer token."""
        if self._metrics_token is None:
            return False
        header = first(header_map(scope["headers"]), "authorization") or ""
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self._metrics_token)

    async def _operations(self, runtime: Runtime, scope: Scope, send: Send, *,
                          private: bool) -> None:
        """/healthz, /readyz and /metrics, on the public port or the metrics listener
        (`private`), which serves nothing else."""
        path, method = scope["path"], scope["method"]
        if path not in OPERATIONS_PATHS or method not in ("GET", "HEAD"):
            await send_json(send, 404, {"ok": False, "error": "not found"})
        elif path == "/healthz":
            # Liveness: the process answers. Redis is /readyz's business, so that an
            # outage takes replicas out of rotation instead of getting them restarted.
            await send_json(send, 200, {"ok": True})
        elif path == "/readyz":
            verdict = await runtime.ready()
            answer: dict[str, Any] = {"ok": verdict.ready}
            if private or self._bearer(scope):
                answer["reason"] = verdict.reason
            await send_json(send, 200 if verdict.ready else 503, answer)
        elif not private and self._metrics_token is None:
            await send_json(send, 404, {"ok": False, "error": "not found"})
        elif self._metrics_token is not None and not self._bearer(scope):
            await send_json(send, 401, {"ok": False, "error": "unauthorized"},
                            headers=[(b"www-authenticate", b'Bearer realm="metrics"')])
        else:
            page = await runtime.metrics_page()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", METRICS_TYPE.encode()),
                                    (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page if method == "GET" else b""})

    async def _slack(self, runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
        headers = header_map(scope["headers"])
        if declared_length(headers) > MAX_BODY_BYTES:
            await send_json(send, 413, {"ok": False, "error": "payload too large"})
            return
        try:
            raw = await read_body(receive, MAX_BODY_BYTES)
        except TooLarge:
            await send_json(send, 413, {"ok": False, "error": "payload too large"})
            return
        # Before any parsing (Bolt parses the body as it builds its request object).
        if not self._signature.is_valid(raw, first(headers, "x-slack-request-timestamp"),
                                        first(headers, "x-slack-signature")):
            self._logger.info("refused a request with a bad or stale signature",
                                 extra={"event": "slack_request", "outcome": "bad_signature",
                                        "status": 401})
            await send_json(send, 401, {"error": "invalid request"})
            return
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            await send_json(send, 400, {"ok": False, "error": "body is not UTF-8"})
            return
        try:
            parsed = inbound.read(body, headers)  # a shape Bolt would choke on is refused
        except MalformedRequest as exc:  # names the field, never a value
            self._logger.info("refused a malformed request (%s)", exc, extra={
                "event": "slack_request", "outcome": "malformed", "status": 400})
            await send_json(send, 400, {"ok": False, "error": "malformed payload"})
            return
        query = scope.get("query_string", b"").decode("latin-1")
        request = ParsedBoltRequest(raw_body=body, body=parsed, query=query, headers=headers)
        response = await runtime.dispatch(request)
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, vs in response.headers.items() for v in vs]})
        await send({"type": "http.response.body", "body": response.body.encode("utf-8")})

    async def _install(self, runtime: Runtime, scope: Scope, send: Send) -> None:
        """The install page (it sets the state cookie) or Slack's redirect back with a
        code; both are browser GETs without a Slack signature: the state is the check."""
        flow = runtime.bolt.oauth_flow
        assert flow is not None
        request = AsyncBoltRequest(body="", query=scope.get("query_string", b"").decode(
            "latin-1"), headers=header_map(scope["headers"]))
        if scope["path"] == flow.install_path:
            response = await flow.handle_installation(request)
        else:
            response = await flow.handle_callback(request)
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, vs in response.headers.items() for v in vs]})
        await send({"type": "http.response.body", "body": response.body.encode("utf-8")})


def settle_heap() -> None:
    """Keep what start-up built (modules, clients, the app) out of the garbage collector's
    way: a full collection then walks only what requests make. Measured under load, a
    full collection of the unfrozen heap paused the event loop for about 28 ms, an
    answer's whole budget many times over."""
    gc.collect()
    gc.freeze()


class _Started:
    """A `send` that remembers whether the response has started (a 500 can then still
    be sent in its place)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
