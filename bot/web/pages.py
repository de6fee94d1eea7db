"""The web pages of external secrets, under PUBLIC_URL (its path is theirs too):

    GET|HEAD /s/<id>         the inert page: who shared it, its label, when it expires, and
                             a Reveal button (the key after '#' stays in the browser)
    POST     /s/<id>/code    {key, email}: mail a one-time code, if the address is a recipient
    POST     /s/<id>/reveal  {key, email?, code?, ticket?, passphrase?}: use one view; the plaintext
                             is in this answer and nowhere else
    GET|HEAD /static/<name>  the page's one script and one stylesheet
    GET|HEAD /robots.txt     disallows everything (at the root, where crawlers look)

A GET or HEAD changes nothing, whoever sends it (previewers, mail scanners): only the
page's own script, POSTing from PUBLIC_URL's origin, can use a view. Every secret that
cannot be opened, including a malformed id, gets the same "no longer available" page.
A POST's body is small JSON; anything else is refused before the service is asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.domain import is_secret_id
from bot.errors import MalformedRequest, StorageUnavailable, TooLarge
from bot.render import web as render
from bot.secrets.external import (
    CodeOutcome,
    CodeResult,
    ExternalReveals,
    WebClient,
    WebOutcome,
    WebRevealResult,
    decode_link_key,
)
from bot.web import page_posts
from bot.web.client_ip import web_client
from bot.web.exchange import (
    Headers,
    Receive,
    Scope,
    Send,
    declared_length,
    first,
    header_map,
    read_body,
    send_json,
    send_whole,
)
from bot.web.page_posts import CodeAsk, RevealAsk
from bot.web.previews import is_preview
from bot.web.settings import Network, origin_of

MAX_BODY_BYTES = 8 * 1024  # a key, an address, a code and a passphrase fit many times over
ROBOTS_TXT = b"User-agent: *\nDisallow: /\n"
HTML = "text/html; charset=utf-8"
JSON = "application/json"

# The HTTP status of each answer (the page's script goes by `outcome`; these are for
# everything else that reads them: logs, proxies, tests).
REVEAL_STATUS = {
    WebOutcome.REVEALED: 200,
    WebOutcome.GONE: 404,
    WebOutcome.CODE_NEEDED: 401,
    WebOutcome.NEEDS_PASSPHRASE: 401,
    WebOutcome.WRONG_CODE: 403,
    WebOutcome.CODE_VOID: 403,
    WebOutcome.WRONG_PASSPHRASE: 403,
    WebOutcome.LOCKED: 423,
    WebOutcome.RATE_LIMITED: 429,
    WebOutcome.BUSY: 503,
    WebOutcome.OPENING: 409,
}
CODE_STATUS = {
    CodeOutcome.SENT: 200,
    CodeOutcome.GONE: 404,
    CodeOutcome.RATE_LIMITED: 429,
    CodeOutcome.BUSY: 503,
    CodeOutcome.NO_MAIL: 503,
}


class Pages:
    """Routes the pages' requests to the service (`ExternalReveals`)."""

    def __init__(self, public_url: str, *, trusted_proxies: Sequence[Network] = (),
                 logger: logging.Logger | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._base = urlsplit(public_url).path.rstrip("/")
        self._origin = origin_of(public_url)
        self._trusted = tuple(trusted_proxies)
        self._logger = logger or logging.getLogger("bot.web")
        self._clock = clock

    def serves(self, path: str) -> bool:
        """Whether `path` is one of the pages' (whatever the method)."""
        return path == "/robots.txt" or path.startswith(
            (f"{self._base}/s/", f"{self._base}/static/"))

    async def handle(self, service: ExternalReveals | None, scope: Scope, receive: Receive,
                     send: Send) -> None:
        """Answer one request for a path `serves` said yes to; `service` None: the
        secrets' routes are not found (the process has no external sharing)."""
        path, method = scope["path"], scope["method"]
        if path == "/robots.txt":
            await self._get_only(scope, send, ROBOTS_TXT, "text/plain; charset=utf-8")
            return
        rest = path[len(self._base):]
        if rest.startswith("/static/"):
            name = rest.removeprefix("/static/")
            if name in render.ASSETS:
                await self._get_only(scope, send, render.asset(name), render.ASSETS[name])
            else:
                await _not_found(send)
            return
        secret_id, _, action = rest.removeprefix("/s/").partition("/")
        if service is None or action not in ("", "reveal", "code"):
            await _not_found(send)
        elif action == "" and method in ("GET", "HEAD"):
            await self._page(service, secret_id, scope, send)
        elif action == "":
            await _not_allowed(send, "GET, HEAD")
        elif method != "POST":
            await _not_allowed(send, "POST")
        else:
            await self._post(service, secret_id, action, scope, receive, send)

    # -- GET and HEAD ---------------------------------------------------------------------

    async def _get_only(self, scope: Scope, send: Send, body: bytes,
                        content_type: str) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _not_allowed(send, "GET, HEAD")
        else:
            await send_whole(send, 200, body, content_type, head=scope["method"] == "HEAD")

    async def _page(self, service: ExternalReveals, secret_id: str, scope: Scope,
                    send: Send) -> None:
        """The inert page (the same for GET and HEAD; neither changes anything)."""
        head = scope["method"] == "HEAD"
        client = web_client(scope, self._trusted)
        info = None
        if is_secret_id(secret_id):
            try:
                info = await service.describe(secret_id, client=client)
            except StorageUnavailable:
                await send_whole(send, 503, render.busy_page(base=self._base).encode(), HTML,
                                 headers=[(b"retry-after", b"30")], head=head)
                return
        if info is None:
            await send_whole(send, 404, render.gone_page(base=self._base).encode(), HTML,
                             head=head)
            return
        agent = first(header_map(scope["headers"]), "user-agent")
        html = render.secret_page(info, base=self._base, secret_id=secret_id,
                                 now=self._clock(), preview=is_preview(agent))
        await send_whole(send, 200, html.encode(), HTML, head=head)

    # -- POST -----------------------------------------------------------------------------

    async def _post(self, service: ExternalReveals, secret_id: str, action: str,
                    scope: Scope, receive: Receive, send: Send) -> None:
        headers = header_map(scope["headers"])
        origin = first(headers, "origin")
        if origin is None or origin.lower() != self._origin:
            # Only the page itself posts: a form or script elsewhere cannot use a view.
            self._logger.info("refused a page POST from another origin", extra={
                "event": "web_request", "outcome": "cross_origin", "status": 403})
            await send_json(send, 403, {"outcome": "forbidden", "error": "cross-origin request",
                                        "message": render.CROSS_ORIGIN})
            return
        media_type = (first(headers, "content-type") or "").partition(";")[0].strip().lower()
        if media_type != JSON:
            await _bad(send, 415, "the body must be application/json")
            return
        if declared_length(headers) > MAX_BODY_BYTES:
            await _bad(send, 413, f"the body must be at most {MAX_BODY_BYTES} bytes")
            return
        try:
            raw = await read_body(receive, MAX_BODY_BYTES)
        except TooLarge:
            await _bad(send, 413, f"the body must be at most {MAX_BODY_BYTES} bytes")
            return
        try:
            ask = page_posts.code_ask(raw) if action == "code" else page_posts.reveal_ask(raw)
        except MalformedRequest as exc:  # names the field, never a value
            self._logger.info("refused a page POST (%s)", exc, extra={
                "event": "web_request", "outcome": "malformed", "status": 400})
            await _bad(send, 400, str(exc))
            return
        client = web_client(scope, self._trusted)
        if decode_link_key(ask.link_key) is None:
            # Checked here, not by the service: whatever the secret, the link was cut short.
            await _bad(send, 400, "key: not a link key", render.INCOMPLETE_LINK)
        elif isinstance(ask, CodeAsk):
            await self._code(service, secret_id, ask, client, send)
        else:
            await self._reveal(service, secret_id, ask, client, send)

    async def _reveal(self, service: ExternalReveals, secret_id: str, ask: RevealAsk,
                      client: WebClient, send: Send) -> None:
        if not is_secret_id(secret_id):
            result = WebRevealResult(WebOutcome.GONE)
        else:
            try:
                result = await service.reveal(
                    secret_id, link_key=ask.link_key, client=client, email=ask.email,
                    code=ask.code, ticket=ask.ticket, passphrase=ask.passphrase)
            except StorageUnavailable:
                result = WebRevealResult(WebOutcome.BUSY)
        await send_json(send, REVEAL_STATUS[result.outcome], reveal_answer(result),
                        _retry_after(result.retry_after, result.outcome is WebOutcome.BUSY))

    async def _code(self, service: ExternalReveals, secret_id: str, ask: CodeAsk,
                    client: WebClient, send: Send) -> None:
        if not is_secret_id(secret_id):
            result = CodeResult(CodeOutcome.GONE)
        else:
            try:
                result = await service.request_code(secret_id, link_key=ask.link_key,
                                                    email=ask.email, client=client)
            except StorageUnavailable:
                result = CodeResult(CodeOutcome.BUSY)
        answer: dict[str, Any] = {"outcome": result.outcome.value,
                                  "message": render.code_message(result)}
        if result.retry_after is not None:
            answer["retry_after"] = result.retry_after
        if result.ticket is not None:
            answer["ticket"] = result.ticket
        await send_json(send, CODE_STATUS[result.outcome], answer,
                        _retry_after(result.retry_after, result.outcome is CodeOutcome.BUSY))


def reveal_answer(result: WebRevealResult) -> dict[str, Any]:
    """The JSON answer to a reveal POST: the outcome and what to say about it; the text,
    its format and whether it was the last view when revealed; when to retry or how many
    tries are left when the service says."""
    answer: dict[str, Any] = {"outcome": result.outcome.value,
                              "message": render.reveal_message(result)}
    if result.outcome is WebOutcome.REVEALED:
        answer.update(text=result.text or "", format=result.format.value,
                      last_view=result.last_view)
    if result.retry_after is not None:
        answer["retry_after"] = result.retry_after
    if result.tries_left is not None:
        answer["tries_left"] = result.tries_left
    return answer


# -- answers ------------------------------------------------------------------------------

async def _not_found(send: Send) -> None:
    await send_json(send, 404, {"ok": False, "error": "not found"})


async def _not_allowed(send: Send, allow: str) -> None:
    await send_json(send, 405, {"ok": False, "error": "method not allowed"},
                    headers=[(b"allow", allow.encode())])


async def _bad(send: Send, status: int, problem: str,
               message: str = render.BAD_REQUEST) -> None:
    await send_json(send, status, {"outcome": "bad_request", "error": problem,
                                   "message": message})


def _retry_after(seconds: int | None, busy: bool) -> Headers:
    if seconds is None and busy:
        seconds = 30
    return [(b"retry-after", str(max(1, int(seconds))).encode())] if seconds is not None else []
