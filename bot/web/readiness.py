"""Whether this process can serve: the answer behind GET /readyz.

Liveness (/healthz) asks only whether the process answers, so that a Redis outage takes
replicas out of the load balancer (not ready) without getting them restarted (not live):
restarting cannot bring Redis back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.crypto import KeyRing, decrypt, encrypt
from bot.errors import InvalidToken, StorageUnavailable

PROBE_ID = "readiness-probe"


class Pingable(Protocol):
    async def ping(self) -> bool: ...


@dataclass(frozen=True)
class Readiness:
    """The verdict, with a short reason for operators (never a detail of a key)."""

    ready: bool
    reason: str


class ReadinessCheck:
    """Redis answers, and the key ring can encrypt and decrypt."""

    def __init__(self, *, store: Pingable, keyring: KeyRing) -> None:
        self._store = store
        self._keyring = keyring

    async def __call__(self) -> Readiness:
        if not self._keys_usable():
            return Readiness(False, "encryption keys unusable")
        try:
            if not await self._store.ping():
                return Readiness(False, "redis unreachable")
        except StorageUnavailable:
            return Readiness(False, "redis unreachable")
        return Readiness(True, "ok")

    def _keys_usable(self) -> bool:
        # A round trip under the key new secrets are made with: microseconds, no I/O for
        # the static ring; a key ring backed by a KMS would be checked the same way.
        try:
            token = encrypt(b"probe", record_id=PROBE_ID, keyring=self._keyring)
            return decrypt(token, record_id=PROBE_ID, keyring=self._keyring) == b"probe"
        except (InvalidToken, ValueError, LookupError):
            return False
