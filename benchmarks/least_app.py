"""The least a correct reveal or share can do, as a reference: how fast could any bot be?

    python -m benchmarks.least_app   (env: PORT, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN,
                                      SLACK_API_URL, REDIS_URL, LEAST_KEY)

A Reveal click is acknowledged, then the secret is taken from Redis and deleted in one
step (GETDEL), decrypted (AES-256-GCM) and shown with views.open: one Redis round trip
and one Web API call. A share form is acknowledged, then the secret is encrypted, stored
with one SET, and each recipient gets a Reveal button with one chat.postMessage. That is
the floor of any one-time secret through Slack. None of what the bot adds is here: no
input checks, recipient check, rate limit, replay mark, audit event, view count, crash
settlement, bound on work in flight, message update or receipt. It is served exactly as
the framework floor (`benchmarks.floor_app`): the bot's ASGI front under uvicorn, one
process.

Its throughput bounds what the bot can reach on this machine: if even this falls short
of a target, no design with these parts meets that target in one worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

import aiohttp
import redis.asyncio as redis
import uvicorn
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.floor_app import FloorASGI
from bot import render
from bot.render.blocks import button, section

PREFIX = "least:"
NONCE = 12


def seal(cipher: AESGCM, secret_id: str, plaintext: str) -> bytes:
    """What this app stores: nonce + AES-GCM ciphertext, the secret's id as associated data."""
    nonce = os.urandom(NONCE)
    return nonce + cipher.encrypt(nonce, plaintext.encode(), secret_id.encode())


def _state(body: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    value = body["view"]["state"]["values"][block][action]
    return value if isinstance(value, dict) else {}


def build_app(*, token: str, signing_secret: str, api_url: str, store: redis.Redis,
              key: bytes) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url),
                   signing_secret=signing_secret, process_before_response=True,
                   logger=logging.getLogger("slack_bolt"))
    cipher = AESGCM(key)
    running: set[asyncio.Task[None]] = set()  # strong references until each is done
    clients: list[AsyncWebClient] = []

    def web_client() -> AsyncWebClient:
        # One pooled aiohttp session, made in the running loop, as the bot's runtime
        # does (without one the SDK opens a session, and a connection, per call).
        if not clients:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                limit=384, limit_per_host=384))
            clients.append(AsyncWebClient(token=token, base_url=api_url, session=session))
        return clients[0]

    def after_ack(work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        running.add(task)
        task.add_done_callback(running.discard)

    async def show(secret_id: str, trigger_id: str) -> None:
        sealed = await store.getdel(PREFIX + secret_id)
        if sealed is None:
            return
        plaintext = cipher.decrypt(sealed[:NONCE], sealed[NONCE:], secret_id.encode())
        await web_client().views_open(trigger_id=trigger_id, view=render.revealed_modal(
            plaintext.decode(), sender_id="U0SENDER", code="bench", label=None))

    async def share(sender: str, recipients: list[str], plaintext: str) -> None:
        secret_id = os.urandom(16).hex()
        await store.set(PREFIX + secret_id, seal(cipher, secret_id, plaintext), ex=86_400)
        text = f"<@{sender}> shared a secret with you"
        blocks = [section(text), {"type": "actions", "elements": [
            button("Reveal secret", action_id=render.REVEAL_ACTION, value=secret_id)]}]
        for recipient in recipients:
            await web_client().chat_postMessage(channel=recipient, text=text, blocks=blocks)

    async def reveal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        after_ack(show(str(action.get("value")), str(body.get("trigger_id"))))
        await ack()

    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        recipients = _state(body, render.RECIPIENTS_BLOCK, render.RECIPIENTS_ACTION)
        secret = _state(body, render.SECRET_BLOCK, render.SECRET_ACTION)
        after_ack(share(body["user"]["id"], list(recipients.get("selected_users") or []),
                        str(secret.get("value"))))
        await ack()

    app.action(render.REVEAL_ACTION)(reveal)
    app.view(render.SHARE_CALLBACK)(submit)
    return app


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    signing_secret = os.environ["SLACK_SIGNING_SECRET"]
    app = build_app(token=os.environ["SLACK_BOT_TOKEN"], signing_secret=signing_secret,
                    api_url=os.environ["SLACK_API_URL"], store=store,
                    key=bytes.fromhex(os.environ["LEAST_KEY"]))
    uvicorn.run(FloorASGI(app, signing_secret=signing_secret), host="127.0.0.1",
                port=int(os.environ["PORT"]), lifespan="on", access_log=False,
                log_level="warning", timeout_graceful_shutdown=10, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
