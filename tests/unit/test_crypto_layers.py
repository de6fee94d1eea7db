"""bot.crypto: the layered passphrase formats (v4, and v3 with its fixed scrypt cost),
legacy v2 tokens, link keys (v5, v6) and re-wrapping."""

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
    needs_link_key,
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


def scrypt(passphrase: bytes, salt: bytes, cost: int = 15) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**cost, r=8, p=1).derive(passphrase)


def legacy_v2(plaintext: bytes, passphrase: bytes, record_id: str) -> bytes:
    """A v2 token as earlier releases wrote it (HKDF over master key + scrypt)."""
    header = bytes([2, 2]) + b"k1" + SALT + NONCE
    key = hkdf(OLD.material + scrypt(passphrase, SALT), SALT, b"share-secret/v2 data key")
    return header + AESGCM(key).encrypt(NONCE, plaintext, header + record_id.encode())


def layered(version: int, inner: bytes, record_id: bytes, key: MasterKey = OLD) -> bytes:
    """An inner layer sealed by the outer master-key layer, as documented."""
    kid = key.key_id.encode()
    header = bytes([version, len(kid)]) + kid + SALT + NONCE
    outer_key = hkdf(key.material, SALT, b"share-secret/v%d wrap key" % version)
    return header + AESGCM(outer_key).encrypt(NONCE, inner, header + record_id)


def legacy_v3(plaintext: bytes, passphrase: bytes, record_id: bytes) -> bytes:
    """A v3 token as earlier releases wrote it (scrypt N=2^15, not recorded)."""
    inner_key = hkdf(scrypt(passphrase, ISALT), ISALT, b"share-secret/v3 passphrase key")
    inner = ISALT + INONCE + AESGCM(inner_key).encrypt(INONCE, plaintext,
                                                         b"v3|" + record_id)
    return layered(3, inner, record_id)


def v4(plaintext: bytes, passphrase: bytes, record_id: bytes, cost: int = 17, *,
       cost_named: int | None = None) -> bytes:
    """A v4 token built independently: the scrypt cost byte heads the inner layer (and is
    in its associated data). `cost_named`: a cost byte other than the one used."""
    named = bytes([cost if cost_named is None else cost_named])
    inner_key = hkdf(scrypt(passphrase, ISALT, cost), ISALT, b"share-secret/v4 passphrase key")
    inner = named + ISALT + INONCE + AESGCM(inner_key).encrypt(
        INONCE, plaintext, b"v4|" + named + record_id)
    return layered(4, inner, record_id)


def test_v4_matches_independent_construction():
    """A passphrase token is an inner passphrase layer, naming its scrypt cost (N=2^17),
    sealed by an outer master-key layer, exactly as documented."""
    token = encrypt(b"hunter2", record_id="rec-1", keyring=OLD_RING, passphrase="open sesame",
                    random_bytes=pinned(ISALT, INONCE, SALT, NONCE))
    assert token == v4(b"hunter2", b"open sesame", b"rec-1")
    assert decrypt(token, record_id="rec-1", keyring=OLD_RING,
                   passphrase=" open sesame\n") == b"hunter2"
    assert needs_passphrase(token)
    assert version_of(token) == 4


@pytest.mark.parametrize("cost", [15, 16, 18])
def test_v4_tokens_of_other_costs_still_open(cost):
    """The cost is read from the token: one made at another cost opens with its own."""
    assert decrypt(v4(b"then", b"pass phrase", b"r", cost), record_id="r", keyring=OLD_RING,
                   passphrase="pass phrase") == b"then"


@pytest.mark.parametrize(("cost", "named"), [(17, 16), (15, 17), (17, 14), (17, 19),
                                             (17, 255)])
def test_v4_with_a_changed_or_unbounded_cost_is_refused(cost, named):
    """A cost byte that is not the one used fails to decrypt; one outside 2^15..2^18 is
    refused before any scrypt runs (a token cannot make a reveal take gigabytes)."""
    with pytest.raises(InvalidToken):
        decrypt(v4(b"x", b"pass phrase", b"r", cost, cost_named=named), record_id="r",
                keyring=OLD_RING, passphrase="pass phrase")


def test_legacy_v3_tokens_still_decrypt():
    """Tokens written by earlier releases (v3: scrypt N=2^15) keep working."""
    token = legacy_v3(b"hunter2", b"open sesame", b"rec-1")
    assert decrypt(token, record_id="rec-1", keyring=OLD_RING,
                   passphrase=" open sesame\n") == b"hunter2"
    assert needs_passphrase(token)
    assert version_of(token) == 3
    for wrong in (None, "open sesame!"):
        with pytest.raises(InvalidToken):
            decrypt(token, record_id="rec-1", keyring=OLD_RING, passphrase=wrong)


@pytest.mark.parametrize("passphrase", [None, "wrong one"])
def test_v4_needs_the_right_passphrase(passphrase):
    """The master key alone, or with a wrong passphrase, does not decrypt a v4 token."""
    token = encrypt(b"s3cret", record_id="r", keyring=OLD_RING, passphrase="right one")
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="r", keyring=OLD_RING, passphrase=passphrase)


def test_v4_inner_layer_is_bound_to_the_record():
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


@pytest.mark.parametrize("version", [3, 4])
def test_rewrap_of_layered_tokens_needs_no_passphrase_and_keeps_it(version):
    """A passphrase token is re-wrapped without its passphrase, in its own format (and
    scrypt cost); it still needs the passphrase after."""
    token = encrypt(b"guarded", record_id="r", keyring=OLD_RING, passphrase="pass") \
        if version == 4 else legacy_v3(b"guarded", b"pass", b"r")
    moved = rewrap(token, record_id="r", keyring=BOTH)
    assert key_id_of(moved) == "k2"
    assert version_of(moved) == version
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


# -- link keys (external secrets: versions 5 and 6) -----------------------------------------

LINK = b"\x5a" * 32
OTHER_LINK = b"\x5b" * 32


@pytest.mark.parametrize("passphrase", [None, "correct horse"], ids=["v5", "v6"])
def test_a_link_secret_needs_both_the_link_key_and_the_key_ring(passphrase):
    """Redis plus ENCRYPTION_KEYS cannot open it without the link; the link cannot open it
    without the ring; a wrong link key is as good as none."""
    token = encrypt(b"s3cret", record_id="R1", keyring=OLD_RING, passphrase=passphrase,
                    link_key=LINK, scrypt_cost=15)
    assert version_of(token) == (5 if passphrase is None else 6)
    assert needs_link_key(token)
    assert needs_passphrase(token) is (passphrase is not None)
    assert decrypt(token, record_id="R1", keyring=OLD_RING, passphrase=passphrase,
                   link_key=LINK) == b"s3cret"
    for attempt in ({"link_key": None}, {"link_key": OTHER_LINK}):
        with pytest.raises(InvalidToken):
            decrypt(token, record_id="R1", keyring=OLD_RING, passphrase=passphrase, **attempt)
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="R1", keyring=NEW_ONLY, passphrase=passphrase, link_key=LINK)
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="R2", keyring=OLD_RING, passphrase=passphrase, link_key=LINK)
    if passphrase is not None:
        with pytest.raises(InvalidToken):
            decrypt(token, record_id="R1", keyring=OLD_RING, link_key=LINK)
        with pytest.raises(InvalidToken):
            decrypt(token, record_id="R1", keyring=OLD_RING, passphrase="wrong horse",
                    link_key=LINK)


def test_a_link_key_given_for_an_ordinary_token_is_refused():
    token = encrypt(b"s3cret", record_id="R1", keyring=OLD_RING)
    assert not needs_link_key(token)
    with pytest.raises(InvalidToken):
        decrypt(token, record_id="R1", keyring=OLD_RING, link_key=LINK)


def test_rotation_rewraps_a_link_secret_without_its_link_key():
    token = encrypt(b"s3cret", record_id="R1", keyring=OLD_RING, link_key=LINK,
                    random_bytes=pinned(ISALT, INONCE, SALT, NONCE))
    rotated = rewrap(token, record_id="R1", keyring=BOTH)
    assert key_id_of(rotated) == "k2"
    assert version_of(rotated) == 5
    # The inner layer, sealed by the link key, is carried over untouched.
    inner = AESGCM(hkdf(LINK, ISALT, b"share-secret/v5 link key"))
    assert inner.decrypt(INONCE, rotated_inner(rotated), b"v5|R1") == b"s3cret"
    assert decrypt(rotated, record_id="R1", keyring=NEW_ONLY, link_key=LINK) == b"s3cret"


def rotated_inner(token: bytes) -> bytes:
    """The inner layer's sealed body, opened from a v5 token's outer layer with NEW."""
    header_end = 2 + token[1] + 16 + 12
    salt, nonce = token[2 + token[1]:2 + token[1] + 16], token[2 + token[1] + 16:header_end]
    outer = AESGCM(hkdf(NEW.material, salt, b"share-secret/v5 wrap key"))
    inner = outer.decrypt(nonce, token[header_end:], token[:header_end] + b"R1")
    return inner[16 + 12:]


def test_a_link_key_must_be_32_bytes():
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(b"s3cret", record_id="R1", keyring=OLD_RING, link_key=b"short")
