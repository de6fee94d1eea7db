"""The known-answer vectors of docs/token-format.md (tests/data/token_vectors.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.crypto import MasterKey, StaticKeyRing, decrypt, encrypt, version_of

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "token_vectors.json").read_text())


def ring_of(vector) -> StaticKeyRing:
    return StaticKeyRing([MasterKey(vector["key_id"], bytes.fromhex(vector["master_key"]))])


def ids(vector) -> str:
    return f"v{vector['version']}"


def link_key_of(vector) -> bytes | None:
    return bytes.fromhex(vector["link_key"]) if vector.get("link_key") else None


def test_there_is_a_vector_for_every_version():
    assert sorted(v["version"] for v in VECTORS) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("vector", VECTORS, ids=ids)
def test_each_vector_decrypts_to_its_plaintext(vector):
    """Decrypting the vector's token, with its key, record id and passphrase, gives its
    plaintext."""
    token = bytes.fromhex(vector["token"])
    assert version_of(token) == vector["version"]
    plaintext = decrypt(token, record_id=vector["record_id"], keyring=ring_of(vector),
                        passphrase=vector["passphrase"], link_key=link_key_of(vector))
    assert plaintext == vector["plaintext"].encode()


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["written"]], ids=ids)
def test_encrypting_the_vectors_inputs_gives_its_token(vector):
    """With the vector's salts and nonces as its randomness (inner layer first), encrypt
    writes exactly the vector's token."""
    drawn = [vector.get("inner_salt"), vector.get("inner_nonce"), vector["salt"],
             vector["nonce"]]
    queue = [bytes.fromhex(chunk) for chunk in drawn if chunk is not None]
    extra = {"scrypt_cost": vector["scrypt_log2_n"]} if vector["passphrase"] else {}
    token = encrypt(vector["plaintext"].encode(), record_id=vector["record_id"],
                    keyring=ring_of(vector), passphrase=vector["passphrase"],
                    link_key=link_key_of(vector), random_bytes=lambda n: queue.pop(0), **extra)
    assert token.hex() == vector["token"]
    assert queue == []
