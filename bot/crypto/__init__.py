"""Encryption of secrets: pure functions, no I/O."""

from bot.crypto import seal
from bot.crypto.keyring import KeyRing, MasterKey, StaticKeyRing, generate_key_entry, parse_keys
from bot.crypto.tokens import (
    decrypt,
    encrypt,
    key_id_of,
    needs_link_key,
    needs_passphrase,
    rewrap,
    version_of,
)

__all__ = [
    "KeyRing",
    "MasterKey",
    "StaticKeyRing",
    "decrypt",
    "encrypt",
    "generate_key_entry",
    "key_id_of",
    "needs_link_key",
    "needs_passphrase",
    "parse_keys",
    "rewrap",
    "seal",
    "version_of",
]
