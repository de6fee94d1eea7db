"""Write tests/data/token_vectors.json: one known-answer vector per token version.

    python -m scripts.token_vectors

Versions 1, 4, 5 and 6, which the bot writes, come from `bot.crypto.encrypt` with its
randomness pinned (5 and 6 were first checked against a computation from the page
alone). Versions 2 and 3, which only earlier releases wrote, are built here from
docs/token-format.md. The passphrase versions use scrypt's lowest allowed cost
(N = 2^15), so that the tests stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.crypto import MasterKey, StaticKeyRing, encrypt

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "token_vectors.json"
KEY = MasterKey("k2026a", bytes(range(32)))
SALT, NONCE = bytes(range(0x10, 0x20)), bytes(range(0x20, 0x2C))
INNER_SALT, INNER_NONCE = bytes(range(0x30, 0x40)), bytes(range(0x40, 0x4C))
COST = 15
LINK_KEY = bytes(range(0x50, 0x70))


def _hkdf(material: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material)


def _scrypt(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**COST, r=8, p=1).derive(passphrase.encode())


def _header(version: int) -> bytes:
    kid = KEY.key_id.encode("ascii")
    return bytes([version, len(kid)]) + kid + SALT + NONCE


def _v2(plaintext: bytes, passphrase: str, record_id: str) -> bytes:
    header = _header(2)
    key = _hkdf(KEY.material + _scrypt(passphrase, SALT), SALT, b"share-secret/v2 data key")
    return header + AESGCM(key).encrypt(NONCE, plaintext, header + record_id.encode())


def _v3(plaintext: bytes, passphrase: str, record_id: str) -> bytes:
    inner_key = _hkdf(_scrypt(passphrase, INNER_SALT), INNER_SALT,
                      b"share-secret/v3 passphrase key")
    inner = INNER_SALT + INNER_NONCE + AESGCM(inner_key).encrypt(
        INNER_NONCE, plaintext, b"v3|" + record_id.encode())
    header = _header(3)
    outer_key = _hkdf(KEY.material, SALT, b"share-secret/v3 wrap key")
    return header + AESGCM(outer_key).encrypt(NONCE, inner, header + record_id.encode())


def _pinned(*chunks: bytes) -> Any:
    queue = list(chunks)
    return lambda n: queue.pop(0)


def vectors() -> list[dict[str, Any]]:
    ring = StaticKeyRing([KEY])
    common = {"key_id": KEY.key_id, "master_key": KEY.material.hex(),
              "salt": SALT.hex(), "nonce": NONCE.hex()}
    inner = {"inner_salt": INNER_SALT.hex(), "inner_nonce": INNER_NONCE.hex(),
             "scrypt_log2_n": COST}
    v1 = ("postgres://admin:Tr0ub4dor&3@db.internal/prod", "7KQMX4PD9HTCq2dMu_yO9060K6qm")
    v4 = ("AKIAIOSFODNN7EXAMPLE", "XFBK4VQXT49JSiarluLTeDjKw10e")
    v2 = ("old secret", "9S6RM5PNN7GKdMu_yO9060K6qmJL")
    v3 = ("older secret", "H3RT7WQ2MZ8KSiarluLTeDjKw10e")
    return [
        {"version": 1, "written": True, **common, "record_id": v1[1], "plaintext": v1[0],
         "passphrase": None,
         "token": encrypt(v1[0].encode(), record_id=v1[1], keyring=ring,
                          random_bytes=_pinned(SALT, NONCE)).hex()},
        {"version": 2, "written": False, **common, "scrypt_log2_n": COST,
         "record_id": v2[1], "plaintext": v2[0], "passphrase": "correct horse",
         "token": _v2(v2[0].encode(), "correct horse", v2[1]).hex()},
        {"version": 3, "written": False, **common, **inner, "record_id": v3[1],
         "plaintext": v3[0], "passphrase": "battery staple",
         "token": _v3(v3[0].encode(), "battery staple", v3[1]).hex()},
        {"version": 4, "written": True, **common, **inner, "record_id": v4[1],
         "plaintext": v4[0], "passphrase": "blue-harbour-42",
         "token": encrypt(v4[0].encode(), record_id=v4[1], keyring=ring,
                          passphrase="blue-harbour-42", scrypt_cost=COST,
                          random_bytes=_pinned(INNER_SALT, INNER_NONCE, SALT, NONCE)).hex()},
        *(_link_vector(ring, common, inner, v4, passphrase) for passphrase in
          (None, "blue-harbour-42")),
    ]


def _link_vector(ring: StaticKeyRing, common: dict[str, Any], inner: dict[str, Any],
                 example: tuple[str, str], passphrase: str | None) -> dict[str, Any]:
    """Version 5 (a link key), or 6 (a link key and a passphrase)."""
    layers = {**inner, "link_key": LINK_KEY.hex()}
    if passphrase is None:
        del layers["scrypt_log2_n"]
    return {"version": 5 if passphrase is None else 6, "written": True, **common, **layers,
            "record_id": example[1], "plaintext": example[0], "passphrase": passphrase,
            "token": encrypt(example[0].encode(), record_id=example[1], keyring=ring,
                             passphrase=passphrase, link_key=LINK_KEY, scrypt_cost=COST,
                             random_bytes=_pinned(INNER_SALT, INNER_NONCE, SALT, NONCE)).hex()}


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    written = vectors()
    OUT.write_text(json.dumps(written, indent=2) + "\n")
    print(f"wrote {len(written)} vectors to tests/data/token_vectors.json")


if __name__ == "__main__":
    main()
