"""The bearer text of API tokens (docs/api.md#tokens): the known-answer vectors of
tests/data/api_token_vectors.json, and every kind of damage refused by its checksum."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.api import bearer

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "api_token_vectors.json")
                     .read_text())
# The rule docs/api.md gives secret scanners.
SCANNER_RULE = re.compile(r"\bshsec_[0-9A-Za-z]{49}\b")


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["comment"])
def test_known_answers(vector):
    """The same random bytes always give the same text, which is well formed, matches
    the scanners' rule, and is stored under its SHA-256."""
    made = bearer.new_bearer(lambda n: bytes.fromhex(vector["random_hex"])[:n])
    assert made == vector["bearer"]
    assert bearer.well_formed(made)
    assert SCANNER_RULE.fullmatch(made)
    assert bearer.digest(made) == vector["sha256"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["comment"])
def test_known_refusals(vector):
    assert not bearer.well_formed(vector["bearer"])


def test_every_single_character_typo_is_refused():
    """Changing any one character of a token (to any other base62 character) breaks its
    checksum or its shape: a typo is refused before any lookup."""
    text = VECTORS["valid"][2]["bearer"]
    for position in range(len(bearer.TOKEN_PREFIX), len(text)):
        for other in bearer.ALPHABET:
            if other != text[position]:
                assert not bearer.well_formed(text[:position] + other + text[position + 1:])


def test_fresh_tokens_are_random_and_well_formed():
    made = {bearer.new_bearer() for _ in range(200)}
    assert len(made) == 200
    assert all(bearer.well_formed(t) and len(t) == 55 and t.startswith("shsec_") for t in made)


def test_the_vectors_cover_the_padding_edges():
    """All-zero bytes pad the random part with zeros; all-ones bytes fill its 43 digits."""
    assert VECTORS["valid"][0]["bearer"].startswith("shsec_" + "0" * 43)
    assert VECTORS["valid"][1]["bearer"][6] != "0"
