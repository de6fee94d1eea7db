"""The bodies of the reveal page's two POSTs, read and checked before the service is asked.

The page's script sends exactly these shapes; anything else raises MalformedRequest,
naming the field and never quoting a value (the body may hold a key or a passphrase).
The link key is checked by the page route itself (a missing or cut-short one means an
incomplete link, which the person is told in those words).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.domain import MAX_PASSPHRASE_CHARS
from bot.errors import MalformedRequest

MAX_EMAIL_CHARS = 254
_CODE = re.compile(r"^[0-9]{6,8}$")
_TICKET = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class RevealAsk:
    """A reveal POST: the link key as posted ("" when missing), and what an email
    recipient or a passphrase adds."""

    link_key: str
    email: str | None = None
    code: str | None = None
    ticket: str | None = None  # the code request's, from its answer
    passphrase: str | None = None


def reveal_ask(raw: bytes) -> RevealAsk:
    """{key, email?, code?, ticket?, passphrase?}"""
    fields = _json_object(raw)
    _only(fields, {"key", "email", "code", "ticket", "passphrase"})
    ticket = _text(fields, "ticket") or None
    if ticket is not None and not _TICKET.fullmatch(ticket):
        raise MalformedRequest("ticket: not a code request's ticket")
    code = (_text(fields, "code") or "").strip() or None
    if code is not None and not _CODE.fullmatch(code):
        raise MalformedRequest("code: must be 6 to 8 digits")
    passphrase = _text(fields, "passphrase") or None
    if passphrase is not None and len(passphrase) > MAX_PASSPHRASE_CHARS:
        raise MalformedRequest(f"passphrase: at most {MAX_PASSPHRASE_CHARS} characters")
    return RevealAsk(link_key=_text(fields, "key") or "", email=_email(fields), code=code,
                     ticket=ticket, passphrase=passphrase)


@dataclass(frozen=True)
class CodeAsk:
    """A code request: the link key as posted (only holders of the link may ask), and
    the address to mail a code to."""

    link_key: str
    email: str


def code_ask(raw: bytes) -> CodeAsk:
    """{key, email}"""
    fields = _json_object(raw)
    _only(fields, {"key", "email"})
    email = _email(fields)
    if email is None:
        raise MalformedRequest("email: required")
    return CodeAsk(link_key=_text(fields, "key") or "", email=email)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: deeply nested arrays inside the object (json's C decoder
        # recurses); refused like any other body that is not JSON.
        raise MalformedRequest("body: not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest("body: must be a JSON object")
    return value


def _only(fields: dict[str, Any], allowed: set[str]) -> None:
    if set(fields) - allowed:
        # Not named: a name the client chose could be anything, a code or a key included.
        raise MalformedRequest(f"body: fields other than {', '.join(sorted(allowed))}")


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedRequest(f"{name}: must be a string")
    return value


def _email(fields: dict[str, Any]) -> str | None:
    """The address as typed, trimmed (the service normalises it as the share form did)."""
    email = (_text(fields, "email") or "").strip()
    if not email:
        return None
    if len(email) > MAX_EMAIL_CHARS or "@" not in email[1:-1] \
            or any(c.isspace() or not c.isprintable() for c in email):
        raise MalformedRequest("email: not an email address")
    return email
