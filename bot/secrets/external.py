"""Secrets for people outside Slack: the values the web page and the share form exchange
with the service (bot.secrets.web_reveal implements `ExternalReveals`).

A link secret and an email secret are opened at PUBLIC_URL/s/<secret id>#<link key>. The
link key never reaches the server except in the reveal POST's body: the browser keeps the
part after '#' to itself, so proxies, access logs and link unfurlers never see it. The
secret is encrypted under the link key inside and the key ring outside (token versions 5
and 6, docs/token-format.md): neither Redis with the key ring, nor the link alone, opens it.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from bot.domain import Audience, SecretRecord
from bot.options import Format

LINK_KEY_BYTES = 32
LINK_KEY_CHARS = 43  # unpadded base64url of 32 bytes


def new_link_key() -> bytes:
    return secrets.token_bytes(LINK_KEY_BYTES)


def encode_link_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_link_key(text: str) -> bytes | None:
    """The link key a page posted, or None when it is not one (wrong length or alphabet)."""
    if len(text) != LINK_KEY_CHARS:
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=")
    except ValueError:
        return None
    return key if len(key) == LINK_KEY_BYTES and encode_link_key(key) == text else None


def link_check(key: bytes, secret_id: str) -> str:
    """What the metadata keeps to recognise the link's key before anything else is done
    (HMAC-SHA256, 128 bits): a wrong key then costs no code try, no passphrase guess and
    none of the secret's limits. The key has 256 bits: its check cannot be reversed."""
    return hmac.new(key, b"share-secret/link check|" + secret_id.encode(),
                    hashlib.sha256).hexdigest()[:32]


def link_url(public_url: str, secret_id: str, key: bytes) -> str:
    """The address an external recipient opens: the key after '#', never sent to us."""
    return f"{public_url.rstrip('/')}/s/{secret_id}#{encode_link_key(key)}"


@dataclass(frozen=True)
class ExternalShare:
    """A stored external secret, and the link key that only its link carries (shown once
    to the sender, mailed to email recipients; never stored)."""

    record: SecretRecord
    link_key: bytes


@dataclass(frozen=True)
class ExternalPolicy:
    """What a workspace allows of external sharing (its admins set it; defaults from the
    environment)."""

    enabled: bool = True
    allowed_domains: tuple[str, ...] = ()  # email audience only; empty: any domain
    link_needs_passphrase: bool = False
    max_expiry_seconds: int | None = None  # external secrets only; None: the usual cap


@dataclass(frozen=True)
class WebClient:
    """Who sent a web request, as far as we can tell: the client IP (from the socket, or
    X-Forwarded-For behind TRUSTED_PROXIES) and a shortened user agent."""

    ip: str
    user_agent: str | None = None


@dataclass(frozen=True)
class PageInfo:
    """What the inert page shows of a secret: never its content."""

    audience: Audience
    sender_name: str
    workspace_name: str
    label: str | None
    expires_at: float
    has_passphrase: bool


class WebOutcome(enum.Enum):
    """How a reveal POST ended."""

    REVEALED = "revealed"
    GONE = "gone"  # unknown, expired, revoked, used up, a wrong link key: one answer
    CODE_NEEDED = "code_needed"  # an email secret: ask for the address and a code
    WRONG_CODE = "wrong_code"  # (tries left in `tries_left`)
    CODE_VOID = "code_void"  # too many wrong tries, or expired: ask for a new code
    NEEDS_PASSPHRASE = "needs_passphrase"
    WRONG_PASSPHRASE = "wrong_passphrase"
    LOCKED = "locked"  # too many wrong passphrases (`retry_after`)
    RATE_LIMITED = "rate_limited"  # this client or secret tried too often (`retry_after`)
    BUSY = "busy"  # our storage is not answering: try again shortly; nothing was used
    OPENING = "opening"  # the same recipient is opening it elsewhere right now (`retry_after`)


@dataclass(frozen=True)
class WebRevealResult:
    outcome: WebOutcome
    text: str | None = None  # REVEALED only
    format: Format = Format.TEXT
    last_view: bool = False  # REVEALED: nobody can open it again
    retry_after: int | None = None  # seconds
    tries_left: int | None = None


class CodeOutcome(enum.Enum):
    """How a code request ended. SENT is the answer whether or not the address is
    listed: the page must not tell who is."""

    SENT = "sent"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    BUSY = "busy"
    NO_MAIL = "no_mail"  # mail is not configured (the email audience is then not offered)


@dataclass(frozen=True)
class CodeResult:
    outcome: CodeOutcome
    retry_after: int | None = None
    # SENT: names this request's code; the page sends it back with the code typed, so
    # that nobody else's tries can spend or void it.
    ticket: str | None = None


class LinksMailer(Protocol):
    """Mails an email secret's link to each of its addresses (bot.mail.external_mail)."""

    async def send(self, share: ExternalShare, *, sender_name: str,
                   workspace_name: str) -> None: ...


class ExternalReveals(Protocol):
    """The service behind the web page."""

    async def describe(self, secret_id: str, *, client: WebClient) -> PageInfo | None:
        """The inert page's facts; None when the secret cannot be opened (gone). Changes
        nothing but a throttled "page opened" audit event."""
        ...

    async def request_code(self, secret_id: str, *, link_key: str, email: str,
                           client: WebClient) -> CodeResult:
        """Mail a one-time code to `email` if it is one of the secret's recipients (for
        holders of the link only: `link_key` is checked first)."""
        ...

    async def reveal(self, secret_id: str, *, link_key: str, client: WebClient,
                     email: str | None = None, code: str | None = None,
                     ticket: str | None = None,
                     passphrase: str | None = None) -> WebRevealResult:
        """Use one view and return the plaintext, or say why not (changing nothing)."""
        ...
