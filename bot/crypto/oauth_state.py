"""OAuth `state` values that need no storage until they are used: signed, and dated.

A state is `key id . issued (Unix seconds) . nonce . MAC`, the MAC being
HMAC-SHA256(HKDF(master key, info=b"share-secret/oauth state key"), "key id.issued.nonce"),
nonce and MAC in unpadded base64url. It is issued under the key ring's first key and
checked under the key it names, so a rotation does not break installs under way.
Nothing is written when a state is issued; single use is the store's business.

Pure functions: no I/O, and the clock and randomness are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.crypto.keyring import KeyRing, MasterKey
from bot.errors import InvalidToken

STATE_SECONDS = 600  # as long as Slack's install codes live
SKEW_SECONDS = 60  # a state dated this far ahead is still taken (replicas' clocks differ)
NONCE_BYTES = 16
INFO = b"share-secret/oauth state key"
_SHAPE = re.compile(r"^([A-Za-z0-9_.-]{1,32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\."
                    r"([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class StateStamp:
    """What a genuine state says: its nonce (names its single-use mark) and issue time."""

    nonce: str
    issued_at: int


def issue(keyring: KeyRing, *, now: float,
          random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A new state, valid for STATE_SECONDS from `now`."""
    key = keyring.encryption_key()
    body = f"{key.key_id}.{int(now)}.{_b64(random_bytes(NONCE_BYTES))}"
    return f"{body}.{_b64(_mac(key, body))}"


def verify(state: str, keyring: KeyRing, *, now: float,
           lifetime: int = STATE_SECONDS) -> StateStamp:
    """The stamp of a state this deployment issued less than `lifetime` seconds ago.

    Raises InvalidToken, whatever is wrong (shape, key, MAC or age).
    """
    match = _SHAPE.fullmatch(state) if state.isascii() else None
    if match is None:
        raise InvalidToken("not a state")
    key_id, issued, nonce, mac = match.groups()
    key = keyring.key(key_id)
    body = state[:state.rindex(".")]
    if key is None or not hmac.compare_digest(_b64(_mac(key, body)), mac):
        raise InvalidToken("not a state")
    if not now - lifetime < int(issued) <= now + SKEW_SECONDS:
        raise InvalidToken("not a state")
    return StateStamp(nonce=nonce, issued_at=int(issued))


def _mac(key: MasterKey, body: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=INFO).derive(key.material)
    return hmac.new(derived, body.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
