"""Secret tokens: AES-256-GCM ciphertexts bound to the record they belong to.

The format (versions 1 to 6, byte by byte) is specified in docs/token-format.md, with
known-answer vectors in tests/data/token_vectors.json. Pure functions: no I/O, and the
randomness can be passed in (`random_bytes`).
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
from bot.errors import InvalidToken, NeedsPassphrase

VERSION_1 = 0x01
VERSION_2 = 0x02
VERSION_3 = 0x03
VERSION_4 = 0x04
VERSION_5 = 0x05  # a link key inside (external secrets), the master key outside
VERSION_6 = 0x06  # as 5, with a passphrase mixed into the inner key
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HKDF_INFO = {VERSION_1: b"share-secret/v1 data key", VERSION_2: b"share-secret/v2 data key",
             VERSION_3: b"share-secret/v3 wrap key", VERSION_4: b"share-secret/v4 wrap key",
             VERSION_5: b"share-secret/v5 wrap key", VERSION_6: b"share-secret/v6 wrap key"}
INNER_INFO = {VERSION_3: b"share-secret/v3 passphrase key",
              VERSION_4: b"share-secret/v4 passphrase key",
              VERSION_5: b"share-secret/v5 link key",
              VERSION_6: b"share-secret/v6 link and passphrase key"}
PASSPHRASE_VERSIONS = frozenset({VERSION_2, VERSION_3, VERSION_4, VERSION_6})
LINK_VERSIONS = frozenset({VERSION_5, VERSION_6})
# Versions whose inner layer records the scrypt cost it was made with.
COST_VERSIONS = frozenset({VERSION_4, VERSION_6})
LINK_KEY_BYTES = 32
SCRYPT_R, SCRYPT_P = 8, 1
# log2 of scrypt's N: what versions 2 and 3 used, what version 4 is written with, and the
# most a token may ask for (a token names its own cost: bounded, so that one cannot make
# a reveal take gigabytes).
LEGACY_SCRYPT_COST, SCRYPT_COST, MAX_SCRYPT_COST = 15, 17, 18

RandomBytes = Callable[[int], bytes]


def encrypt(plaintext: bytes, *, record_id: str, keyring: KeyRing,
            passphrase: str | None = None, link_key: bytes | None = None,
            random_bytes: RandomBytes = os.urandom, scrypt_cost: int = SCRYPT_COST) -> bytes:
    """Encrypt `plaintext` for the record `record_id` under the ring's first key, and
    inside it under the passphrase (scrypt's N = 2^`scrypt_cost`) and/or the link key of
    an external secret, when given."""
    if passphrase is None and link_key is None:
        return _seal(VERSION_1, plaintext, record_id, keyring, random_bytes)
    if link_key is not None and len(link_key) != LINK_KEY_BYTES:
        raise ValueError("a link key is 32 bytes")
    if passphrase is not None and not LEGACY_SCRYPT_COST <= scrypt_cost <= MAX_SCRYPT_COST:
        raise ValueError("scrypt_cost is out of range")
    version = VERSION_4 if link_key is None else (
        VERSION_5 if passphrase is None else VERSION_6)
    salt, nonce = _salt_and_nonce(random_bytes)
    cost = bytes([scrypt_cost]) if version in COST_VERSIONS else b""
    inner_key = _inner_key(version, salt, cost, passphrase, link_key)
    inner = cost + salt + nonce + AESGCM(inner_key).encrypt(
        nonce, plaintext, _inner_ad(version, record_id, cost))
    return _seal(version, inner, record_id, keyring, random_bytes)


def decrypt(token: bytes, *, record_id: str, keyring: KeyRing,
            passphrase: str | None = None, link_key: bytes | None = None) -> bytes:
    """Decrypt a token made for `record_id`; raise InvalidToken for any fault at all
    (including a missing or wrong passphrase or link key)."""
    version = token[0] if token else 0
    if (version in PASSPHRASE_VERSIONS) != (passphrase is not None) or (
            version in LINK_VERSIONS) != (link_key is not None):
        _parse_header(token)  # a malformed token reads as malformed, whatever was passed
        raise InvalidToken
    if version in INNER_INFO and (passphrase is not None or link_key is not None):
        inner = _open(token, record_id, keyring)
        cost = inner[:1] if version in COST_VERSIONS else b""
        salt, nonce, body = _split_inner(inner[len(cost):])
        if cost and not LEGACY_SCRYPT_COST <= cost[0] <= MAX_SCRYPT_COST:
            raise InvalidToken
        key = _inner_key(version, salt, cost, passphrase, link_key)
        try:
            return AESGCM(key).decrypt(nonce, body, _inner_ad(version, record_id, cost))
        except InvalidTag:
            raise InvalidToken from None
    return _open(token, record_id, keyring, passphrase)


def _inner_key(version: int, salt: bytes, cost: bytes, passphrase: str | None,
               link_key: bytes | None) -> bytes:
    """The inner layer's key: from the link key, the passphrase, or both (v6: the link
    key, then scrypt's output, as HKDF's input)."""
    scrypt_cost = cost[0] if cost else LEGACY_SCRYPT_COST
    material = (link_key or b"") + (
        _scrypt(passphrase, salt, scrypt_cost) if passphrase is not None else b"")
    return _hkdf(material, salt, INNER_INFO[version])


def _split_inner(inner: bytes) -> tuple[bytes, bytes, bytes]:
    """An inner layer's salt, nonce and sealed body (after the v4 cost byte)."""
    body = inner[SALT_BYTES + NONCE_BYTES:]
    if len(body) < TAG_BYTES:
        raise InvalidToken
    return inner[:SALT_BYTES], inner[SALT_BYTES:SALT_BYTES + NONCE_BYTES], body


def rewrap(token: bytes, *, record_id: str, keyring: KeyRing,
           random_bytes: RandomBytes = os.urandom) -> bytes:
    """The same secret under the ring's first key, for key rotation.

    Version 1 is decrypted and encrypted again (in memory only); versions 3 to 6 have only
    their outer layer replaced, so neither the passphrase nor the link key is needed and
    the secret is never seen.
    Version 2 cannot be re-wrapped without its passphrase: it raises NeedsPassphrase.
    Any other fault raises InvalidToken.
    """
    _parse_header(token)
    return _seal(token[0], _open(token, record_id, keyring), record_id, keyring, random_bytes)


def key_id_of(token: bytes) -> str:
    """The id of the master key a token was made with (for rotation and checks)."""
    return _parse_header(token)[0]


def needs_passphrase(token: bytes) -> bool:
    """Whether the token was made with a passphrase."""
    _parse_header(token)
    return token[0] in PASSPHRASE_VERSIONS


def needs_link_key(token: bytes) -> bool:
    """Whether the token was made with a link key (an external secret)."""
    _parse_header(token)
    return token[0] in LINK_VERSIONS


def version_of(token: bytes) -> int:
    """The token's format version (1 to 6)."""
    _parse_header(token)
    return token[0]


def _seal(version: int, payload: bytes, record_id: str, keyring: KeyRing,
          random_bytes: RandomBytes) -> bytes:
    master = keyring.encryption_key()
    salt, nonce = _salt_and_nonce(random_bytes)
    kid = master.key_id.encode("ascii")
    header = bytes([version, len(kid)]) + kid + salt + nonce
    body = AESGCM(_hkdf(master.material, salt, HKDF_INFO[version])).encrypt(
        nonce, payload, _associated_data(header, record_id))
    return header + body


def _open(token: bytes, record_id: str, keyring: KeyRing, passphrase: str | None = None) -> bytes:
    """The payload of a token's outer layer (the plaintext for v1 and v2)."""
    key_id, salt, nonce, header_end = _parse_header(token)
    master = keyring.key(key_id)
    if master is None:
        raise InvalidToken
    material = master.material
    if token[0] == VERSION_2:
        if passphrase is None:  # rewrap's case: only the passphrase could open it
            raise NeedsPassphrase
        material += _scrypt(passphrase, salt, LEGACY_SCRYPT_COST)
    try:
        return AESGCM(_hkdf(material, salt, HKDF_INFO[token[0]])).decrypt(
            nonce, token[header_end:], _associated_data(token[:header_end], record_id))
    except InvalidTag:
        raise InvalidToken from None


def _salt_and_nonce(random_bytes: RandomBytes) -> tuple[bytes, bytes]:
    salt = random_bytes(SALT_BYTES)
    nonce = random_bytes(NONCE_BYTES)
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("random_bytes returned the wrong length")
    return salt, nonce


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


def _scrypt(passphrase: str, salt: bytes, cost: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**cost, r=SCRYPT_R, p=SCRYPT_P).derive(
        normalize_passphrase(passphrase))


def _hkdf(material: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material)


def normalize_passphrase(passphrase: str) -> bytes:
    """The bytes a passphrase stands for: NFC, without surrounding white space (a pasted
    newline must not make the right passphrase wrong)."""
    return _utf8(unicodedata.normalize("NFC", passphrase.strip()))


def _associated_data(header: bytes, record_id: str) -> bytes:
    return header + _utf8(record_id)


def _inner_ad(version: int, record_id: str, cost: bytes) -> bytes:
    # v3 and v5: b"vN|" + record id; v4 and v6: b"vN|" + the cost byte + record id
    return b"v%d|" % version + cost + _utf8(record_id)


def _utf8(text: str) -> bytes:
    # "surrogatepass": a lone surrogate (JSON can carry one as \ud800) is encoded like any
    # other character instead of raising, so that any string is a (wrong) passphrase or
    # record id, and a bad token still fails with InvalidToken alone.
    return text.encode("utf-8", "surrogatepass")
