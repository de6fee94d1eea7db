"""Secret tokens: AES-256-GCM ciphertexts bound to the record they belong to.

Layout of a token (all lengths in bytes):

    version (1) | key id length n (1) | key id (n, ASCII) | salt (16) | nonce (12)
    | AES-256-GCM ciphertext with its 16-byte tag

Version 1: the data key is HKDF-SHA256(master key, salt, info=b"share-secret/v1 data
key"), so every secret has its own key even under one master key, and a nonce is
never reused under a key.

Version 2 (a passphrase was set): the input keying material is the master key
followed by scrypt(passphrase, salt; N=2^15, r=8, p=1), info b"share-secret/v2 data
key". Neither the stored token plus the master key, nor the passphrase alone,
decrypts it; and scrypt makes each passphrase guess cost ~32 MiB and tens of ms.

The associated data is the whole header followed by the record id: a token copied
into another record, or with a header byte changed, fails to decrypt.

Pure functions: no I/O, and randomness can be passed in (tests pin it to check
known-answer vectors).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.crypto.keyring import KeyRing
from bot.errors import InvalidToken

VERSION_1 = 0x01
VERSION_2 = 0x02
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HKDF_INFO = {VERSION_1: b"share-secret/v1 data key", VERSION_2: b"share-secret/v2 data key"}
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

RandomBytes = Callable[[int], bytes]


def encrypt(plaintext: bytes, *, record_id: str, keyring: KeyRing,
            passphrase: str | None = None, random_bytes: RandomBytes = os.urandom) -> bytes:
    """Encrypt `plaintext` for the record `record_id` under the ring's first key (and
    the passphrase, when one is given)."""
    version = VERSION_2 if passphrase is not None else VERSION_1
    master = keyring.encryption_key()
    salt = random_bytes(SALT_BYTES)
    nonce = random_bytes(NONCE_BYTES)
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("random_bytes returned the wrong length")
    kid = master.key_id.encode("ascii")
    header = bytes([version, len(kid)]) + kid + salt + nonce
    body = AESGCM(_data_key(version, master.material, salt, passphrase)).encrypt(
        nonce, plaintext, _associated_data(header, record_id))
    return header + body


def decrypt(token: bytes, *, record_id: str, keyring: KeyRing,
            passphrase: str | None = None) -> bytes:
    """Decrypt a token made for `record_id`; raise InvalidToken for any fault at all
    (including a missing or wrong passphrase)."""
    key_id, salt, nonce, header_end = _parse_header(token)
    master = keyring.key(key_id)
    if master is None or (token[0] == VERSION_2) != (passphrase is not None):
        raise InvalidToken
    try:
        return AESGCM(_data_key(token[0], master.material, salt, passphrase)).decrypt(
            nonce, token[header_end:], _associated_data(token[:header_end], record_id))
    except InvalidTag:
        raise InvalidToken from None


def key_id_of(token: bytes) -> str:
    """The id of the master key a token was made with (for rotation and checks)."""
    return _parse_header(token)[0]


def needs_passphrase(token: bytes) -> bool:
    """Whether the token was made with a passphrase."""
    _parse_header(token)
    return token[0] == VERSION_2


def _parse_header(token: bytes) -> tuple[str, bytes, bytes, int]:
    if len(token) < 2 or token[0] not in HKDF_INFO:
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


def _data_key(version: int, master: bytes, salt: bytes, passphrase: str | None) -> bytes:
    material = master
    if version == VERSION_2:
        assert passphrase is not None
        material += Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
            normalize_passphrase(passphrase))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=HKDF_INFO[version]).derive(material)


def normalize_passphrase(passphrase: str) -> bytes:
    """The bytes a passphrase stands for: NFC, without surrounding white space (a pasted
    newline must not make the right passphrase wrong)."""
    return unicodedata.normalize("NFC", passphrase.strip()).encode("utf-8")


def _associated_data(header: bytes, record_id: str) -> bytes:
    return header + record_id.encode("utf-8")
