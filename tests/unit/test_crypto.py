"""bot.crypto: AES-256-GCM tokens bound to their record, and the key ring."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto import (
    MasterKey,
    StaticKeyRing,
    decrypt,
    encrypt,
    generate_key_entry,
    key_id_of,
    parse_keys,
)
from bot.errors import InvalidToken

KEY = bytes(range(32))
RING = StaticKeyRing([MasterKey("k1", KEY)])
SALT, NONCE = b"\x11" * 16, b"\x22" * 12
# Known answer: key bytes 0..31 as "k1", salt 0x11*16, nonce 0x22*12, record "rec-0001".
KAT_TOKEN = bytes.fromhex(
    "01026b31" + "11" * 16 + "22" * 12 + "fdb2c2d717310a7d0fe44f99cdc0b43f86d893e8d3e271")


def pinned(*chunks: bytes):
    queue = list(chunks)
    return lambda n: queue.pop(0)


def test_known_answer_vector():
    """A fixed key, salt, nonce and record give the pinned token, and it decrypts."""
    token = encrypt(b"hunter2", record_id="rec-0001", keyring=RING,
                    random_bytes=pinned(SALT, NONCE))
    assert token == KAT_TOKEN
    assert decrypt(KAT_TOKEN, record_id="rec-0001", keyring=RING) == b"hunter2"


def test_known_answer_matches_independent_construction():
    """The token is exactly HKDF-SHA256 + AES-256-GCM with the documented header as AAD."""
    header = bytes([1, 2]) + b"k1" + SALT + NONCE
    data_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT,
                    info=b"share-secret/v1 data key").derive(KEY)
    body = AESGCM(data_key).encrypt(NONCE, b"hunter2", header + b"rec-0001")
    assert header + body == KAT_TOKEN


@pytest.mark.parametrize("plaintext", [
    b"", b"x", "pässwörd 🔑\n\ttabs".encode(), bytes(range(256)), b"A" * 3000 * 4,
])
def test_round_trip_edge_inputs(plaintext):
    """Empty, tiny, unicode, binary and large plaintexts survive a round trip."""
    token = encrypt(plaintext, record_id="r", keyring=RING)
    assert decrypt(token, record_id="r", keyring=RING) == plaintext


def test_fresh_salt_and_nonce_every_time():
    """Encrypting the same text twice never repeats a salt, nonce or ciphertext."""
    tokens = [encrypt(b"same", record_id="r", keyring=RING) for _ in range(500)]
    salts = {t[4:20] for t in tokens}
    nonces = {t[20:32] for t in tokens}
    assert len(salts) == len(nonces) == len(set(tokens)) == 500


def flip(token: bytes, index: int) -> bytes:
    return token[:index] + bytes([token[index] ^ 0x01]) + token[index + 1:]


@pytest.mark.parametrize(("kind", "tamper"), [
    ("version byte", lambda t: flip(t, 0)),
    ("key id length", lambda t: flip(t, 1)),
    ("key id", lambda t: flip(t, 3)),
    ("salt", lambda t: flip(t, 4)),
    ("nonce", lambda t: flip(t, 20)),
    ("ciphertext", lambda t: flip(t, 32)),
    ("tag", lambda t: flip(t, len(t) - 1)),
    ("truncated", lambda t: t[:-1]),
    ("extended", lambda t: t + b"\x00"),
    ("header only", lambda t: t[:32]),
    ("empty", lambda t: b""),
])
def test_every_kind_of_tampering_is_one_error(kind, tamper):
    """Any change to any part of a token raises InvalidToken, with no detail."""
    with pytest.raises(InvalidToken) as caught:
        decrypt(tamper(KAT_TOKEN), record_id="rec-0001", keyring=RING)
    assert str(caught.value) == ""


def test_token_moved_to_another_record_fails():
    """The record id is associated data: a ciphertext copied to another record fails."""
    with pytest.raises(InvalidToken):
        decrypt(KAT_TOKEN, record_id="rec-0002", keyring=RING)


def test_unknown_key_id_fails():
    """A token made with a key the ring no longer holds is an InvalidToken."""
    other = StaticKeyRing([MasterKey("k2", KEY)])
    with pytest.raises(InvalidToken):
        decrypt(KAT_TOKEN, record_id="rec-0001", keyring=other)


def test_same_key_id_with_other_material_fails():
    """A key id reused for different material does not decrypt old tokens."""
    impostor = StaticKeyRing([MasterKey("k1", b"\x00" * 32)])
    with pytest.raises(InvalidToken):
        decrypt(KAT_TOKEN, record_id="rec-0001", keyring=impostor)


def test_rotation_first_key_encrypts_all_decrypt():
    """After adding a new first key, old tokens still decrypt and new ones use the new key."""
    rotated = StaticKeyRing([MasterKey("k2", b"\x07" * 32), MasterKey("k1", KEY)])
    assert decrypt(KAT_TOKEN, record_id="rec-0001", keyring=rotated) == b"hunter2"
    fresh = encrypt(b"new", record_id="r", keyring=rotated)
    assert key_id_of(fresh) == "k2"
    assert key_id_of(KAT_TOKEN) == "k1"


def test_random_source_of_wrong_length_is_refused():
    """A broken randomness seam is caught rather than producing a weak token."""
    with pytest.raises(ValueError, match="wrong length"):
        encrypt(b"x", record_id="r", keyring=RING, random_bytes=lambda n: b"\x00")


@given(st.binary(max_size=200), st.text(max_size=30))
def test_decrypt_of_arbitrary_bytes_only_raises_invalid_token(blob, record_id):
    """The token decoder never fails with anything but InvalidToken on garbage."""
    with pytest.raises(InvalidToken):
        decrypt(blob, record_id=record_id, keyring=RING)


def test_parse_keys_accepts_standard_and_urlsafe_base64():
    """ENCRYPTION_KEYS entries parse in order, padded or not, standard or URL-safe."""
    raw = bytes([0xFB] * 32)
    keys = parse_keys(f"new:{base64.urlsafe_b64encode(raw).decode().rstrip('=')}, "
                      f"old:{base64.b64encode(KEY).decode()}")
    assert [k.key_id for k in keys] == ["new", "old"]
    assert keys[0].material == raw


@pytest.mark.parametrize(("text", "message"), [
    ("", "no keys"),
    ("justbase64withoutid", "entry 1 is not of the form"),
    ("k1:not*base64", "entry 1: the key is not valid base64"),
    ("k1:" + base64.b64encode(b"short").decode(), "entry 1: a key is exactly 32 bytes"),
    (f"k1:{base64.b64encode(KEY).decode()},k1:{base64.b64encode(KEY).decode()}", "unique"),
    ("bad id!:" + base64.b64encode(KEY).decode(), "key id"),
])
def test_parse_keys_errors_name_the_entry_not_its_value(text, message):
    """Malformed key lists are refused with a message that never quotes the key."""
    with pytest.raises(ValueError, match=message) as caught:
        parse_keys(text)
    assert base64.b64encode(KEY).decode() not in str(caught.value)


def test_master_key_repr_hides_material():
    """A key's bytes never show up in repr (and so in logs or tracebacks)."""
    assert "material" not in repr(MasterKey("k1", KEY))
    assert repr(KEY) not in repr(RING)


def test_generated_key_entry_parses():
    """keygen's output is a valid ENCRYPTION_KEYS entry with fresh material."""
    first, second = generate_key_entry(), generate_key_entry("prod-2026")
    assert parse_keys(first)[0].material != parse_keys(second)[0].material
    assert parse_keys(second)[0].key_id == "prod-2026"
