"""`Idempotency-Key`: a retried create gets the first answer instead of a second secret.

The first request with a key marks it "pending" in Redis (bot.storage.once, shared by
every replica); a retry meanwhile is told to wait (409), and one after it gets the
stored answer again. An answer that refused the request is not kept: the client may
fix the body and send it again with the same key.

A create's answer holds the link, whose key must never be stored: the answer is kept
encrypted (AES-256-GCM) under a key derived by HKDF from the bearer token and the
Idempotency-Key. Redis keeps only a hash of the token, so nobody who can read Redis,
with or without the master key, can open it; only the token's holder, by retrying.
The mark's name and the body's fingerprint are keyed by the same secret for the same
reason: a body is a secret, and an Idempotency-Key may say what it is for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.api.problems import refusal
from bot.render import api as words
from bot.storage.once import OnceMarks

KIND = "api-idempotency"
MAX_KEY_CHARS = 255
# Longer than a create may take (bot.api.secrets bounds it well inside this), so that a
# retry never starts a second one; short enough that a crashed request frees its key.
PENDING_SECONDS = 120
_PENDING = "pending:"  # and the request's own nonce: only it settles or frees the mark
KEPT_SECONDS = 24 * 3600  # as Stripe keeps them: a day of retries
RETRY_AFTER_SECONDS = 1
_INFO = b"share-secret/v1 idempotent answer"


@dataclass(frozen=True)
class Claim:
    """A request that holds its key: what it wrote in the mark."""

    name: str
    pending: str


@dataclass(frozen=True)
class Replay:
    """The answer a retry gets again."""

    status: int
    body: dict[str, Any]


class _Keyed:
    """The secrets derived for one (token, Idempotency-Key): the mark's name, the body's
    fingerprint key and the answer's encryption key."""

    def __init__(self, bearer: str, token_id: str, key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                       info=_INFO + b"|" + token_id.encode() + b"|" + key.encode()
                       ).derive(bearer.encode())
        self.mac_key, self.aead_key = derived[:32], derived[32:]
        self.name = hmac.new(self.mac_key, b"name", hashlib.sha256).hexdigest()[:32]

    def fingerprint(self, payload: Any) -> str:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
        return hmac.new(self.mac_key, canonical, hashlib.sha256).hexdigest()


class IdempotentCreates:
    """Marks and kept answers of idempotent creates."""

    def __init__(self, marks: OnceMarks) -> None:
        self._marks = marks

    async def begin(self, *, bearer: str, token_id: str, key: str,
                    payload: Any) -> Claim | Replay:
        """A Claim: this request goes ahead (its key is now pending, in its name). A
        Replay: a request with this key and the same body was answered. ApiRefusal while
        the first is in progress, or for another body."""
        keyed = _Keyed(bearer, token_id, checked(key))
        claim = Claim(keyed.name, _PENDING + secrets.token_hex(8))
        earlier = await self._marks.begin(KIND, token_id, keyed.name,
                                          ttl_seconds=PENDING_SECONDS, pending=claim.pending)
        if earlier is None:
            return claim
        if earlier.startswith(_PENDING):
            raise refusal("idempotency-in-progress", words.KEY_IN_PROGRESS,
                          retry_after=RETRY_AFTER_SECONDS)
        kept = _open(keyed, earlier)
        if kept is None or kept.get("f") != keyed.fingerprint(payload):
            # Unreadable counts as another body: it was not made with this token.
            raise refusal("idempotency-key-reused")
        return Replay(int(kept["s"]), dict(kept["b"]))

    async def finish(self, claim: Claim, *, bearer: str, token_id: str, key: str,
                     payload: Any, answer: Replay) -> bool:
        """Keep the answer for retries (False: the key was no longer this request's)."""
        keyed = _Keyed(bearer, token_id, key)
        kept = {"f": keyed.fingerprint(payload), "s": answer.status, "b": answer.body}
        return await self._marks.settle_if_mine(
            KIND, token_id, claim.name, pending=claim.pending, outcome=_seal(keyed, kept),
            ttl_seconds=KEPT_SECONDS)

    async def abandon(self, claim: Claim, *, token_id: str) -> None:
        """The request was refused: the key may be used again (if it is still ours)."""
        await self._marks.settle_if_mine(KIND, token_id, claim.name, pending=claim.pending,
                                         outcome="", ttl_seconds=0)


def checked(key: str) -> str:
    """The Idempotency-Key as sent, if it is one (visible ASCII, 1 to 255 characters)."""
    if not 1 <= len(key) <= MAX_KEY_CHARS or not all(33 <= ord(c) <= 126 for c in key):
        raise refusal("invalid-header", words.BAD_IDEMPOTENCY_KEY)
    return key


def _seal(keyed: _Keyed, kept: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(keyed.aead_key).encrypt(nonce, json.dumps(kept).encode(),
                                            keyed.name.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _open(keyed: _Keyed, text: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        plain = AESGCM(keyed.aead_key).decrypt(raw[:12], raw[12:], keyed.name.encode())
        kept = json.loads(plain)
    except (ValueError, InvalidTag, UnicodeError):
        return None
    return kept if isinstance(kept, dict) else None
