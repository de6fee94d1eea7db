"""The least a correct web reveal can do, as a reference: how fast could any reveal page be?

    python -m benchmarks.least_web   (env: PORT, REDIS_URL)

`POST /s/<id>/reveal` with the JSON body {"key": "<link key>"} (the link's 43-character
base64url key, as the bot's page posts it): the body is parsed, the secret is taken from
Redis and deleted in one step (GETDEL), decrypted with AES-256-GCM under the link key
(nonce + ciphertext as stored by `seal`, the secret's id as associated data) and
answered as {"outcome": "revealed", "text": ...}; a secret that is not there, or does
not open under the key, is {"outcome": "gone"} (404). One Redis round trip and one
decryption. `GET /readyz` answers 200 so the benchmark can start it.

None of what the bot's page adds is here: no Origin check, client address, rate limit,
metadata or key check before the secret is taken (a wrong key here destroys it), code
or passphrase, view count, claim and confirmation, expiry index, quota, audit event,
sender's receipt, body size limit, HTML page or security headers. It is served as the
bot serves its pages: uvicorn with the bot's settings (bot.web.serving: one process,
uvloop and httptools when installed, as the bot gets them, no access log, no server
header, no proxy headers), on a raw ASGI app with no framework.

Its throughput bounds what the bot's web reveal can reach on this machine: if even this
falls short of a target, no design with these parts meets that target in one worker.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis.asyncio as redis
import uvicorn
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "leastweb:"
NONCE = 12
GRACEFUL_SECONDS = 10  # as bot.web.serving

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def seal(link_key: bytes, secret_id: str, plaintext: str) -> bytes:
    """What this app stores: nonce + AES-GCM ciphertext under the link key, the secret's
    id as associated data."""
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(link_key).encrypt(nonce, plaintext.encode(), secret_id.encode())


def link_key(text: str) -> bytes | None:
    """The 32 bytes of a posted link key, or None when it is not one."""
    try:
        key = base64.urlsafe_b64decode(text + "=")
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


class LeastWeb:
    """The ASGI app: the reveal POST and /readyz, nothing else."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.store: redis.Redis | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        if scope["method"] == "POST" and path.startswith("/s/") and path.endswith("/reveal"):
            await self._reveal(path[3:-7], receive, send)
        elif path == "/readyz":
            await _answer(send, 200, {"ready": True})
        else:
            await _answer(send, 404, {"error": "not found"})

    async def _reveal(self, secret_id: str, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            key = link_key(json.loads(body)["key"])
        except (ValueError, KeyError, TypeError):
            key = None
        if key is None:
            await _answer(send, 400, {"outcome": "bad_request"})
            return
        assert self.store is not None
        sealed = await self.store.getdel(PREFIX + secret_id)
        try:
            if sealed is None:
                raise InvalidTag
            text = AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], secret_id.encode())
        except InvalidTag:
            await _answer(send, 404, {"outcome": "gone"})
            return
        await _answer(send, 200, {"outcome": "revealed", "text": text.decode()})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.store = redis.Redis.from_url(self.redis_url)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.store is not None:
                    await self.store.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(LeastWeb(os.environ["REDIS_URL"]), host="127.0.0.1",
                port=int(os.environ["PORT"]), lifespan="on", access_log=False,
                log_level="warning", log_config=None, timeout_graceful_shutdown=GRACEFUL_SECONDS,
                server_header=False, proxy_headers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
