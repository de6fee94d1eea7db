"""Slack request signatures, checked on the raw body before anything is parsed."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

MAX_AGE_SECONDS = 300  # Slack's guidance: refuse requests older than five minutes


class SignatureCheck:
    """Verifies `X-Slack-Signature` against `v0:{timestamp}:{raw body}` in constant time."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = signing_secret.encode("utf-8")
        self._clock = clock

    def is_valid(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        """Whether the request is Slack's, signed within the last five minutes."""
        # ASCII digits only: headers arrive as Latin-1, where "²" is a digit to isdigit()
        # that int() refuses.
        if not (timestamp and signature and timestamp.isascii() and timestamp.isdigit()) \
                or len(timestamp) > 12:
            return False
        if abs(self._clock() - int(timestamp)) > MAX_AGE_SECONDS:
            return False
        expected = "v0=" + hmac.new(self._key, b"v0:" + timestamp.encode() + b":" + body,
                                    hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
