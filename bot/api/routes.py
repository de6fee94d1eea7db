"""The HTTP API's routes, under /api/v1/ (docs/api.md):

    POST   /api/v1/secrets          create a secret (Idempotency-Key honoured)
    GET    /api/v1/secrets/{code}   its status and who viewed it when (metadata only)
    DELETE /api/v1/secrets/{code}   revoke it
    GET    /api/v1/openapi.json     the OpenAPI 3.1 document (no token needed)
    GET    /api/v1/problems/{kind}  what a problem type means (no token needed)

Each request is checked in this order, every step before any work: the route and method,
the bearer token (one Redis read), the token's rate limit (shared by every replica),
then the body. Every refusal is an RFC 9457 problem (bot.api.problems); what a client
sends never causes a 500.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from bot.api import bodies, openapi, problems
from bot.api.idempotency import IdempotentCreates, Replay
from bot.api.problems import refusal
from bot.api.secrets import ApiSecrets
from bot.api.tokens import ApiToken
from bot.errors import ApiRefusal, StorageUnavailable, TooLarge
from bot.render import api as words
from bot.secrets.limits import Rate, RateCounter, duration
from bot.web.exchange import (
    Receive,
    Scope,
    Send,
    declared_length,
    first,
    header_map,
    read_body,
    send_whole,
)

ROOT = "/api/"
SECRETS = "/api/v1/secrets"
DOCUMENT = "/api/v1/openapi.json"
MAX_BODY_BYTES = 64 * 1024  # a 3,000-character secret, escaped as JSON, fits with room
RETRY_UNAVAILABLE_SECONDS = 5
_JSON = "application/json"


class TokenCheck(Protocol):
    async def verify(self, bearer: str) -> ApiToken | None: ...


class ApiRoutes:
    """Answers every request under /api/."""

    def __init__(self, *, tokens: TokenCheck, secrets: ApiSecrets, counter: RateCounter,
                 rate: Rate | None, replays: IdempotentCreates,
                 logger: logging.Logger | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._tokens = tokens
        self._secrets = secrets
        self._counter = counter
        self._rate = rate
        self._replays = replays
        self._logger = logger or logging.getLogger("bot.api")
        self._clock = clock
        self._document = json.dumps(openapi.document()).encode()

    @staticmethod
    def serves(path: str) -> bool:
        return path.startswith(ROOT)

    async def close(self) -> None:
        await self._secrets.close()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        token: ApiToken | None = None
        try:
            if path == DOCUMENT or path.startswith(problems.TYPE_ROOT):
                await self._public(path, method, send)
                return
            if path == SECRETS:
                _allow(method, "POST")
            elif path.startswith(SECRETS + "/") and "/" not in path[len(SECRETS) + 1:]:
                _allow(method, "GET, DELETE")
            else:
                raise refusal("not-found", words.UNKNOWN_ENDPOINT)
            headers = header_map(scope["headers"])
            token = await self._authenticated(headers)
            await self._count(token)
            if path == SECRETS:
                status, answer, extra = await self._create(token, headers, receive)
            else:
                status, extra = 200, []
                code = path[len(SECRETS) + 1:]
                answer = await (self._secrets.status(token, code) if method == "GET"
                                else self._secrets.revoke(token, code))
        except ApiRefusal as problem:
            await _problem(send, problem, instance=path)
            self._log(method, path, problems.status_of(problem), token)
            return
        except StorageUnavailable:
            await _problem(send, refusal("unavailable", retry_after=RETRY_UNAVAILABLE_SECONDS),
                           instance=path)
            self._log(method, path, 503, token)
            return
        await send_whole(send, status, json.dumps(answer).encode(), _JSON, headers=extra)
        self._log(method, path, status, token)

    async def _public(self, path: str, method: str, send: Send) -> None:
        _allow(method, "GET, HEAD")
        if path == DOCUMENT:
            await send_whole(send, 200, self._document, _JSON, head=method == "HEAD")
            return
        described = problems.description_of(path[len(problems.TYPE_ROOT):])
        if described is None:
            raise refusal("not-found", words.UNKNOWN_ENDPOINT)
        await send_whole(send, 200, json.dumps(described).encode(), _JSON,
                         head=method == "HEAD")

    async def _authenticated(self, headers: dict[str, Any]) -> ApiToken:
        header = first(headers, "authorization") or ""
        scheme, _, bearer = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise refusal("unauthorized", words.MISSING_TOKEN)
        token = await self._tokens.verify(bearer.strip())
        if token is None:
            raise refusal("unauthorized", words.BAD_TOKEN)
        return token

    async def _count(self, token: ApiToken) -> None:
        """One request of this token's; a refusal past its rate."""
        rate = self._rate
        if rate is None:
            return
        wait = await self._counter.attempt("api", team_id=token.team_id,
                                           user_id=token.token_id, limit=rate.count,
                                           window_seconds=rate.window, now=self._clock())
        if wait:
            retry = max(1, math.ceil(wait))
            raise refusal("rate-limited", words.RATE_LIMITED.format(
                limit=rate.count, window=duration(rate.window), retry_after=retry),
                retry_after=retry)

    async def _create(self, token: ApiToken, headers: dict[str, Any], receive: Receive
                      ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        payload = await _json_body(headers, receive)
        body = bodies.parse(payload)
        key = first(headers, "idempotency-key")
        bearer = (first(headers, "authorization") or "").strip().partition(" ")[2].strip()
        if key is None:
            answer = await self._secrets.create(token, body)
            return 201, answer, _location(answer)
        claim = await self._replays.begin(bearer=bearer, token_id=token.token_id, key=key,
                                          payload=payload)
        if isinstance(claim, Replay):
            return claim.status, claim.body, [*_location(claim.body),
                                              (b"idempotent-replayed", b"true")]
        try:
            answer = await self._secrets.create(token, body)
        except (ApiRefusal, StorageUnavailable):
            # Refused, or not stored: the key may be used again (else it frees itself).
            with contextlib.suppress(StorageUnavailable):
                await self._replays.abandon(claim, token_id=token.token_id)
            raise
        try:
            await self._replays.finish(claim, bearer=bearer, token_id=token.token_id,
                                       key=key, payload=payload, answer=Replay(201, answer))
        except StorageUnavailable:
            # The secret exists: its answer goes out. A retry within the key's pending
            # time is told to wait; after it, it would create another (logged).
            self._logger.warning("could not keep an idempotent answer; a late retry may "
                                 "create a second secret")
        return 201, answer, _location(answer)

    def _log(self, method: str, path: str, status: int, token: ApiToken | None) -> None:
        # The route, never the code's owner or anything of the body.
        route = path if not path.startswith(SECRETS + "/") else SECRETS + "/{code}"
        self._logger.info("api %s %s %d", method, route, status, extra={
            "event": "api_request", "status": status,
            "token": token.token_id if token else None})


async def _json_body(headers: dict[str, Any], receive: Receive) -> Any:
    kind = (first(headers, "content-type") or "").split(";")[0].strip().lower()
    if kind != _JSON and not (kind.startswith("application/") and kind.endswith("+json")):
        raise refusal("unsupported-media-type")
    if declared_length(headers) > MAX_BODY_BYTES:
        raise refusal("too-large")
    try:
        raw = await read_body(receive, MAX_BODY_BYTES)
    except TooLarge:
        raise refusal("too-large") from None
    try:
        payload = json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the limit
        raise refusal("invalid-json") from None
    if not isinstance(payload, dict):
        raise refusal("invalid-json")
    return payload


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: a key given twice is refused, as a proxy
    that read the first would disagree with us about the body."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key appears twice")
    return found


def _allow(method: str, allowed: str) -> None:
    if method not in [m.strip() for m in allowed.split(",")]:
        raise refusal("method-not-allowed", allow=allowed)


def _location(answer: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    code = answer.get("code")
    return [(b"location", f"{SECRETS}/{code}".encode())] if isinstance(code, str) else []


async def _problem(send: Send, problem: ApiRefusal, *, instance: str) -> None:
    await send_whole(send, problems.status_of(problem),
                     json.dumps(problems.body_of(problem, instance=instance)).encode(),
                     problems.CONTENT_TYPE, headers=problems.headers_of(problem))
