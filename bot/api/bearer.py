"""The bearer text of an API token: its format, its checksum, and the digest it is
stored under (docs/api.md#tokens specifies it for secret scanners).

    shsec_ <43 base62 characters: 32 random bytes> <6 base62 characters: CRC32>

The random part is the 256-bit number the bytes spell (big-endian) in base62, digits
`0-9A-Za-z`, left-padded with `0` to 43 characters; the checksum is the CRC32 of
everything before it (the prefix included, as ASCII), in base62, padded to 6. 55
characters in all. The prefix lets secret scanners recognise a leaked token; the checksum
lets them, and `well_formed`, refuse a mistyped or made-up one without asking Redis.

The bot keeps only the SHA-256 digest (hex) of the whole text: a 256-bit random token
cannot be recovered from it. Pure: no I/O; the randomness can be passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Callable

TOKEN_PREFIX = "shsec_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_BYTES = 32
RANDOM_CHARS = 43  # 62**43 > 2**256
CHECK_CHARS = 6  # 62**6 > 2**32
LENGTH = len(TOKEN_PREFIX) + RANDOM_CHARS + CHECK_CHARS
_SHAPE = re.compile(rf"{TOKEN_PREFIX}[0-9A-Za-z]{{{RANDOM_CHARS + CHECK_CHARS}}}")


def base62(number: int, width: int) -> str:
    """`number` in base62 (ALPHABET), left-padded with "0" to `width` characters."""
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    if len(digits) > width:
        raise ValueError("too large for the width")
    return "".join(reversed(digits)).rjust(width, ALPHABET[0])


def checksum(text: str) -> str:
    """The 6-character checksum of `text`: its CRC32 in base62."""
    return base62(zlib.crc32(text.encode("ascii")), CHECK_CHARS)


def new_bearer(randbytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh bearer text (32 bytes from `secrets`, unless another source is given)."""
    body = TOKEN_PREFIX + base62(int.from_bytes(randbytes(RANDOM_BYTES), "big"),
                                 RANDOM_CHARS)
    return body + checksum(body)


def well_formed(text: str) -> bool:
    """Whether `text` has the shape of a bearer text and its checksum holds (a mistyped,
    cut or invented token does not: refused without a lookup)."""
    if len(text) != LENGTH or not _SHAPE.fullmatch(text):
        return False
    body, check = text[:-CHECK_CHARS], text[-CHECK_CHARS:]
    return hmac.compare_digest(checksum(body), check)


def digest(text: str) -> str:
    """What a token is stored under: the SHA-256 of its bearer text, in hex."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()
