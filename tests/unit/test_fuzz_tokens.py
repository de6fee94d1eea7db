"""The token decoder, fuzzed: whatever it is given, it answers with plaintext or with the
one detail-free InvalidToken, and no altered token ever decrypts."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.crypto import MasterKey, StaticKeyRing, decrypt, encrypt, key_id_of, needs_passphrase
from bot.crypto.tokens import normalize_passphrase
from bot.errors import InvalidToken

RING = StaticKeyRing([MasterKey("k1", bytes(range(32))), MasterKey("old", b"\x07" * 32)])
RECORD = "ABCD2345EFGHxYz0123456789abc"
PLAIN = encrypt(b"hunter2", record_id=RECORD, keyring=RING)
PASSPHRASE = "blue harbour 42"
LOCKED = encrypt(b"hunter2", record_id=RECORD, keyring=RING, passphrase=PASSPHRASE)

# Any string at all, lone surrogates (which JSON can carry as \ud800) and NUL included.
any_str = st.lists(st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00"])),
                   max_size=40).map("".join)
# Bytes that get past the first checks: a known version, a key id length and key ids
# that exist, then anything.
near_tokens = st.builds(
    lambda version, kid, rest: bytes([version, len(kid)]) + kid + rest,
    st.sampled_from([1, 2, 0, 3, 255]), st.sampled_from([b"k1", b"old", b"nope", b"\xff"]),
    st.binary(max_size=120))


def refused(token: bytes, **kwargs: object) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        decrypt(token, **{"record_id": RECORD, "keyring": RING, **kwargs})  # type: ignore[arg-type]
    return caught.value


@settings(max_examples=500)
@given(token=st.one_of(st.binary(max_size=200), near_tokens), record_id=any_str,
       passphrase=st.one_of(st.none(), any_str))
def test_any_input_is_refused_with_the_one_detail_free_error(token, record_id, passphrase):
    """Arbitrary bytes, record ids and passphrases (odd Unicode included) never raise
    anything but InvalidToken, and it carries no detail at all."""
    error = refused(token, record_id=record_id, passphrase=passphrase)
    assert error.args == ()
    assert str(error) == ""
    assert error.__cause__ is None  # nothing chained that could carry a detail
    assert error.__suppress_context__ or error.__context__ is None


@settings(max_examples=500)
@given(st.one_of(st.binary(max_size=200), near_tokens))
def test_header_readers_answer_or_refuse(token):
    """key_id_of and needs_passphrase return an answer or raise InvalidToken, nothing else."""
    for reader in (key_id_of, needs_passphrase):
        try:
            reader(token)
        except InvalidToken as exc:
            error = exc
        else:
            continue
        assert error.args == ()


@settings(max_examples=300)
@given(data=st.data())
def test_every_bit_flip_of_a_real_token_is_refused(data):
    """Flipping any one bit anywhere in a real token (header, salt, nonce, ciphertext or
    tag) makes it fail, with the same error."""
    position = data.draw(st.integers(min_value=0, max_value=len(PLAIN) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    flipped = bytearray(PLAIN)
    flipped[position] ^= 1 << bit
    assert refused(bytes(flipped)).args == ()


@settings(max_examples=25, deadline=None)  # each try costs a scrypt
@given(data=st.data())
def test_every_bit_flip_of_a_passphrase_token_is_refused(data):
    """The same for a token locked with a passphrase, given the right passphrase."""
    position = data.draw(st.integers(min_value=0, max_value=len(LOCKED) - 1))
    flipped = bytearray(LOCKED)
    flipped[position] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    refused(bytes(flipped), passphrase=PASSPHRASE)


@settings(max_examples=300)
@given(cut=st.integers(min_value=0, max_value=len(PLAIN) - 1), extra=st.binary(max_size=20))
def test_truncated_or_extended_tokens_are_refused(cut, extra):
    """A token cut short, or with bytes added, fails."""
    refused(PLAIN[:cut])
    assume(extra)
    refused(PLAIN + extra)


@settings(max_examples=25, deadline=None)
@given(any_str)
def test_wrong_passphrases_are_refused(passphrase):
    """Any passphrase other than the right one (odd Unicode included) fails."""
    assume(normalize_passphrase(passphrase) != normalize_passphrase(PASSPHRASE))
    refused(LOCKED, passphrase=passphrase)


@settings(max_examples=200)
@given(record_id=any_str)
def test_a_real_token_under_any_other_record_id_is_refused(record_id):
    """A real token presented for any other record id (odd Unicode included) fails."""
    assume(record_id != RECORD)
    refused(PLAIN, record_id=record_id)


def test_real_tokens_still_decrypt():
    """The fixtures above are real tokens: untouched, they decrypt."""
    assert decrypt(PLAIN, record_id=RECORD, keyring=RING) == b"hunter2"
    assert decrypt(LOCKED, record_id=RECORD, keyring=RING, passphrase=PASSPHRASE) == b"hunter2"
