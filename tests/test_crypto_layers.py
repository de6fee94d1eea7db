"""bot.crypto: the layered passphrase format (v3), legacy v2 tokens, and re-wrapping."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.crypto import (
    MasterKey,
    StaticKeyRing,
    decrypt,
    encrypt,
    key_id_of,
    needs_passphrase,
    rewrap,
    version_of,
)
from bot.errors import InvalidToken, NeedsPassphrase

OLD = MasterKey("k1", bytes(range(32)))
NEW = MasterKey("k2", b"\x07" * 32)
OLD_RING = StaticKeyRing([OLD])
BOTH = StaticKeyRing([NEW, OLD])
NEW_ONLY = StaticKeyRing([NEW])
SALT, NONCE = b"\x11" * 16, b"\x22" * 12
ISALT, INONCE = b"\x33" * 16, b"\x44" * 12


def pinned(*chunks: bytes):
    queue = list(chunks)
    return lambda n: queue.pop(0)


def hkdf(material: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material)


def scrypt(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)


def legacy_v2(plaintext: bytes, passphrase: bytes, record_id: str) -> bytes:
    """A v2 token as earlier releases wrote it (HKDF over master key + scrypt)."""
    header = bytes([2, 2]) + b"k1" + SALT + NONCE
    key = hkdf(OLD.material + scrypt(passphrase, SALT), SALT, b"share-secret/v2 data key")
    return header + AESGCM(key).encrypt(NONCE, plaintext, header + record_id.encode())


def test_v3_matches_independent_construction():
    """A passphrase token is an inner passphrase layer sealed by an outer master-key layer,
    exactly as documented."""
    token = encrypt(b"hunter2", record_id="rec-1", keyring=OLD_RING, passphrase="open sesame",
                    random_bytes=pinned(ISALT, INONCE, SALT, NONCE))
    inner_key = hkdf(scrypt(b"open sesame", ISALT), ISALT, b"share-secret/v3 passphrase key")
    inner = ISALT + INONCE + AESGCM(inner_key).encrypt(INONCE, b"hunter2", b"v3|rec-1")
    header = bytes([3, 2]) + b"k1" + SALT + NONCE
    outer_key = hkdf(OLD.material, SALT, b"share-secret/v3 wrap key")
    assert token == header + AESGCM(outer_key).encrypt(NONCE, inner, header + b"rec-1")
    assert decrypt(token, record_id="rec-1", keyring=OLD_RING,
                   passphrase=" open sesame\n") == b"hunter2"
    assert needs_passphrase(token)
    assert version_of(token) == 3


@pytest.mark.parametrize("passphrase", [None, "wrong one"])
def test_v3_needs_the_right_passphrase(passphrase):
    """The master key alone, or with a wrong passphrase, does not decrypt a v3 token."""
    token = encrypt(b"s3cret", record_id="r", keyring=OLD_RING, passphrase="right one")
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="r", keyring=OLD_RING, passphrase=passphrase)


def test_v3_inner_layer_is_bound_to_the_record():
    """Both layers carry the record id: a token moved to another record fails."""
    token = encrypt(b"s3cret", record_id="r1", keyring=OLD_RING, passphrase="pass")
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="r2", keyring=OLD_RING, passphrase="pass")


def test_legacy_v2_tokens_still_decrypt():
    """Tokens written by earlier releases (v2) keep working with their passphrase."""
    token = legacy_v2(b"old secret", b"pass", "rec-9")
    assert decrypt(token, record_id="rec-9", keyring=OLD_RING, passphrase="pass") == b"old secret"
    assert needs_passphrase(token)
    assert version_of(token) == 2
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="rec-9", keyring=OLD_RING)


def test_rewrap_v1_moves_to_the_first_key():
    """A plain token re-wrapped decrypts under the new key alone."""
    token = encrypt(b"plain", record_id="r", keyring=OLD_RING)
    moved = rewrap(token, record_id="r", keyring=BOTH)
    assert key_id_of(moved) == "k2"
    assert version_of(moved) == 1
    assert decrypt(moved, record_id="r", keyring=NEW_ONLY) == b"plain"
    with pytest.raises(InvalidToken):
        decrypt(moved, record_id="r", keyring=OLD_RING)


def test_rewrap_v3_needs_no_passphrase_and_keeps_it():
    """A passphrase token is re-wrapped without its passphrase; it still needs it after."""
    token = encrypt(b"guarded", record_id="r", keyring=OLD_RING, passphrase="pass")
    moved = rewrap(token, record_id="r", keyring=BOTH)
    assert key_id_of(moved) == "k2"
    assert version_of(moved) == 3
    assert decrypt(moved, record_id="r", keyring=NEW_ONLY, passphrase="pass") == b"guarded"
    for wrong in (None, "nope"):
        with pytest.raises(InvalidToken):
            decrypt(moved, record_id="r", keyring=NEW_ONLY, passphrase=wrong)


def test_rewrap_of_legacy_v2_says_it_needs_the_passphrase():
    """v2 cannot be re-encrypted without the passphrase: rewrap refuses, distinctly."""
    with pytest.raises(NeedsPassphrase):
        rewrap(legacy_v2(b"x", b"pass", "r"), record_id="r", keyring=BOTH)


@pytest.mark.parametrize("damage", [
    lambda t: t[:-1] + bytes([t[-1] ^ 1]),
    lambda t: t[:10],
    lambda t: b"\x09" + t[1:],
])
def test_rewrap_of_a_damaged_token_is_invalid(damage):
    """A damaged token, or one of an unknown format, is never re-wrapped."""
    token = encrypt(b"x", record_id="r", keyring=OLD_RING)
    with pytest.raises(InvalidToken):
        rewrap(damage(token), record_id="r", keyring=BOTH)


def test_rewrap_without_the_old_key_is_invalid():
    """A token whose key is not in the ring cannot be re-wrapped."""
    token = encrypt(b"x", record_id="r", keyring=OLD_RING)
    with pytest.raises(InvalidToken):
        rewrap(token, record_id="r", keyring=NEW_ONLY)
