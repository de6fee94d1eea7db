"""Master keys and the key ring that holds them.

A key ring is an ordered set of 256-bit master keys, each with a short id. The first
key encrypts; every key decrypts, so keys can be rotated by putting a new key first
and removing the old one once nothing uses it. The ring is a Protocol so that another
source of keys (a cloud KMS, say) can stand in for the static list later.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class MasterKey:
    """One master key. Its material never appears in `repr` or logs."""

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise ValueError("a key id is 1-32 characters of A-Z, a-z, 0-9, '_', '.', '-'")
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"a key is exactly {KEY_BYTES} bytes")


class KeyRing(Protocol):
    """Where encryption finds its keys."""

    def encryption_key(self) -> MasterKey:
        """The key new ciphertexts are made with."""
        ...

    def key(self, key_id: str) -> MasterKey | None:
        """The key with this id, or None when the ring does not hold it."""
        ...

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key the ring holds."""
        ...


class StaticKeyRing:
    """A key ring from a fixed list: the first key encrypts, all of them decrypt."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ValueError("key ids must be unique")
        self._keys = tuple(keys)
        self._by_id = {k.key_id: k for k in keys}

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self._keys)

    def encryption_key(self) -> MasterKey:
        return self._keys[0]

    def key(self, key_id: str) -> MasterKey | None:
        return self._by_id.get(key_id)

    def __repr__(self) -> str:
        return f"StaticKeyRing(key_ids={self.key_ids!r})"


def parse_keys(text: str) -> tuple[MasterKey, ...]:
    """Parse `id:base64,id:base64,...` into keys.

    Error messages say which entry is wrong (by position) and why, never the entry
    itself, because they end up on a console.
    """
    entries = [e.strip() for e in text.split(",") if e.strip()]
    if not entries:
        raise ValueError("no keys given; expected key_id:base64(32 bytes), comma-separated")
    keys = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep:
            raise ValueError(f"entry {position} is not of the form key_id:base64")
        try:
            material = base64.b64decode(_pad(encoded.strip()), altchars=_altchars(encoded),
                                        validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"entry {position}: the key is not valid base64") from None
        try:
            keys.append(MasterKey(key_id.strip(), material))
        except ValueError as exc:
            raise ValueError(f"entry {position}: {exc}") from None
    ids = [k.key_id for k in keys]
    if len(set(ids)) != len(ids):
        raise ValueError("key ids must be unique")
    return tuple(keys)


def _altchars(encoded: str) -> bytes | None:
    # Accept URL-safe base64 too: people paste keys from many tools.
    return b"-_" if ("-" in encoded or "_" in encoded) else None


def _pad(encoded: str) -> str:
    return encoded + "=" * (-len(encoded) % 4)


def generate_key_entry(key_id: str | None = None, *,
                       randbytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh `key_id:base64` entry for ENCRYPTION_KEYS (a random id unless one is given)."""
    key = MasterKey(key_id or "k" + randbytes(3).hex(), randbytes(KEY_BYTES))
    return f"{key.key_id}:{base64.b64encode(key.material).decode()}"
