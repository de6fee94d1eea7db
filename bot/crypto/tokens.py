"""Secret tokens: AES-256-GCM ciphertexts bound to the record they belong to.

Layout of a version-1 token (all lengths in bytes):

    version (1) = 0x01 | key id length n (1) | key id (n, ASCII) | salt (16) | nonce (12)
    | AES-256-GCM ciphertext with its 16-byte tag

The data key is HKDF-SHA256(master key, salt, info=b"share-secret/v1 data key"), so
every secret has its own key even under one master key, and a nonce is never reused
under a key. The associated data is the whole header followed by the record id: a
token copied into another record, or with a header byte changed, fails to decrypt.

Pure functions: no I/O, and randomness can be passed in (tests pin it to check
known-answer vectors).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.crypto.keyring import KeyRing
from bot.errors import InvalidToken

VERSION_1 = 0x01
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HKDF_INFO = b"share-secret/v1 data key"

RandomBytes = Callable[[int], bytes]


def encrypt(plaintext: bytes, *, record_id: str, keyring: KeyRing,
            random_bytes: RandomBytes = os.urandom) -> bytes:
    """Encrypt `plaintext` for the record `record_id` under the ring's first key."""
    master = keyring.encryption_key()
    salt = random_bytes(SALT_BYTES)
    nonce = random_bytes(NONCE_BYTES)
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("random_bytes returned the wrong length")
    kid = master.key_id.encode("ascii")
    header = bytes([VERSION_1, len(kid)]) + kid + salt + nonce
    body = AESGCM(_data_key(master.material, salt)).encrypt(
        nonce, plaintext, _associated_data(header, record_id))
    return header + body


def decrypt(token: bytes, *, record_id: str, keyring: KeyRing) -> bytes:
    """Decrypt a token made for `record_id`; raise InvalidToken for any fault at all."""
    key_id, salt, nonce, header_end = _parse_header(token)
    master = keyring.key(key_id)
    if master is None:
        raise InvalidToken
    try:
        return AESGCM(_data_key(master.material, salt)).decrypt(
            nonce, token[header_end:], _associated_data(token[:header_end], record_id))
    except InvalidTag:
        raise InvalidToken from None


def key_id_of(token: bytes) -> str:
    """The id of the master key a token was made with (for rotation and checks)."""
    return _parse_header(token)[0]


def _parse_header(token: bytes) -> tuple[str, bytes, bytes, int]:
    if len(token) < 2 or token[0] != VERSION_1:
        raise InvalidToken
    kid_end = 2 + token[1]
    header_end = kid_end + SALT_BYTES + NONCE_BYTES
    if token[1] == 0 or len(token) < header_end + TAG_BYTES:
        raise InvalidToken
    try:
        key_id = token[2:kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidToken from None
    return key_id, token[kid_end:kid_end + SALT_BYTES], token[kid_end + SALT_BYTES:header_end], \
        header_end


def _data_key(master: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(master)


def _associated_data(header: bytes, record_id: str) -> bytes:
    return header + record_id.encode("utf-8")
