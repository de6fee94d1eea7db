"""A MAC over a secret's metadata: who may see it, and when.

A ciphertext is bound only to its own record id (bot.crypto.tokens), so someone who can
write to Redis could otherwise add a recipient, move a secret to another team, lift its
view limit or its expiry, and let the bot itself hand the secret out. The fields that
decide those things are therefore signed with HMAC-SHA256 under a key derived from a
master key by HKDF-SHA256 (no salt: the master key is uniformly random; its own info
label, so the MAC key is independent of every data key).

A seal is `key id ":" base64url(MAC)` (unpadded; the first 16 bytes of the HMAC, 22
characters: a forgery is still a 2^-128 guess, and every active secret carries one): it
names the master key it was made with, so a ring keeps verifying old seals until that
key is removed, and key rotation re-seals with the first key. What the message is (which
fields, how encoded) is the storage layer's business (bot.storage.secret_fields).

Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.crypto.keyring import KeyRing, MasterKey

MAC_INFO = b"share-secret/v1 metadata mac"
MAC_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (RFC 2104, section 5)


def seal(message: bytes, keyring: KeyRing) -> str:
    """The seal of `message` under the ring's first key."""
    return _seal_with(keyring.encryption_key(), message)


def verify(message: bytes, sealed: str | None, keyring: KeyRing) -> bool:
    """Whether `sealed` is a seal of `message` by a key the ring holds (False for a
    missing, malformed or unknown-key seal: nothing here raises)."""
    key_id = key_id_of(sealed)
    master = keyring.key(key_id) if key_id is not None else None
    if master is None or sealed is None:
        return False
    return hmac.compare_digest(_seal_with(master, message), sealed)


def key_id_of(sealed: str | None) -> str | None:
    """The id of the key a seal names (None when it is not a well-formed seal)."""
    if not sealed:
        return None
    key_id, sep, mac = sealed.rpartition(":")
    if not sep or not key_id:
        return None
    try:
        if len(base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))) != MAC_BYTES:
            return None
    except (binascii.Error, ValueError):
        return None
    return key_id


def _seal_with(master: MasterKey, message: bytes) -> str:
    mac = hmac.new(_mac_key(master), message, sha256).digest()[:MAC_BYTES]
    return f"{master.key_id}:{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"


@functools.lru_cache(maxsize=16)
def _mac_key(master: MasterKey) -> bytes:
    # Derived once per key (every reveal and delivery checks a seal).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=MAC_INFO).derive(master.material)
