"""How a secret is named: its share code (what people type and read) and its id (the
code and 96 more random bits, what links and buttons carry). Pure functions."""

from __future__ import annotations

import re
import secrets

# Unambiguous characters for share codes: no 0/O, 1/I/L, and no U (avoids accidental words).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4
# A secret id is its share code (12 characters, no dashes) followed by 16 characters of
# URL-safe base64 (96 more random bits): 155 random bits in all. The code part names the
# secret in storage (no separate code index is needed); the rest must match too.
_SECRET_ID = re.compile(r"^[" + "23456789ABCDEFGHJKMNPQRSTVWXYZ" + r"]{12}[A-Za-z0-9_-]{16}$")
HANDLE_LEN = 12


def new_secret_id(code: str) -> str:
    """A fresh secret id for a share code: the code's characters, then 96 random bits."""
    return code.replace("-", "") + secrets.token_urlsafe(12)


def code_of(secret_id: str) -> str:
    """The share code inside a secret id (or a storage handle)."""
    handle = secret_id[:HANDLE_LEN]
    return "-".join(handle[i:i + CODE_GROUP_LEN] for i in range(0, HANDLE_LEN, CODE_GROUP_LEN))


def is_secret_id(value: object) -> bool:
    """Whether `value` has the shape of a secret id (cheap check before any lookup)."""
    return isinstance(value, str) and bool(_SECRET_ID.fullmatch(value))


def new_share_code() -> str:
    """A fresh share code `XXXX-XXXX-XXXX` of unambiguous characters (~59 bits)."""
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN))
              for _ in range(CODE_GROUPS))
    return "-".join(groups)


def normalize_share_code(text: str) -> str | None:
    """A share code as typed by a person, in canonical form, or None if it is not one.

    Case, spaces and dashes are forgiven.
    """
    cleaned = re.sub(r"[\s-]", "", text.upper())
    if len(cleaned) != CODE_GROUPS * CODE_GROUP_LEN or any(c not in CODE_ALPHABET
                                                          for c in cleaned):
        return None
    return "-".join(cleaned[i:i + CODE_GROUP_LEN]
                    for i in range(0, len(cleaned), CODE_GROUP_LEN))
