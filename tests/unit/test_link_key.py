"""The link key in a secret's address: 32 bytes as 43 characters of unpadded base64url;
anything else a page posts is not one (and is refused before any lookup)."""

from __future__ import annotations

import pytest

from bot.secrets.external import (
    LINK_KEY_CHARS,
    decode_link_key,
    encode_link_key,
    link_url,
    new_link_key,
)


def test_round_trip():
    for _ in range(50):
        key = new_link_key()
        text = encode_link_key(key)
        assert len(text) == LINK_KEY_CHARS
        assert "=" not in text
        assert decode_link_key(text) == key


def test_the_url_carries_the_key_after_the_hash():
    key = bytes(range(32))
    url = link_url("https://secrets.example.com/share/", "ABCDEFGHJKMNabcdefgh_-012345", key)
    assert url == ("https://secrets.example.com/share/s/ABCDEFGHJKMNabcdefgh_-012345#"
                   + encode_link_key(key))


GOOD = encode_link_key(bytes(range(32)))


@pytest.mark.parametrize("text", [
    "",
    GOOD[:-1],  # cut short, as a link copied in part
    GOOD + "A",
    GOOD + "=",  # padded
    GOOD[:-2] + "+/",  # standard base64's alphabet, not the URL-safe one
    GOOD[:-1] + "!",
    GOOD[:-1] + " ",
    GOOD[:-1] + "B",  # 43 characters whose last one carries bits a key cannot have
    "é" * LINK_KEY_CHARS,
])
def test_what_is_not_a_link_key(text):
    assert decode_link_key(text) is None
