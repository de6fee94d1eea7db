"""The domain of share-secret: what a secret is, how it is named, how long it lives.

Nothing here knows about Slack, HTTP or Redis: these are frozen values and pure
functions that the service, storage and rendering share.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_RECIPIENTS = 128
MAX_SECRET_CHARS = 3000  # Slack's plain_text_input limit: the modal cannot carry more.

# Unambiguous characters for share codes: no 0/O, 1/I/L, and no U (avoids accidental words).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


class Expiry(enum.Enum):
    """How long a secret can be revealed; the value is its lifetime in seconds."""

    ONE_HOUR = 3600
    ONE_DAY = 86400
    SEVEN_DAYS = 7 * 86400
    THIRTY_DAYS = 30 * 86400

    @property
    def label(self) -> str:
        return _EXPIRY_LABELS[self]

    @classmethod
    def default(cls) -> Expiry:
        return cls.ONE_DAY

    @classmethod
    def parse(cls, seconds: str | None) -> Expiry | None:
        """The expiry whose lifetime is `seconds` (as a string), or None."""
        for member in cls:
            if seconds == str(member.value):
                return member
        return None


_EXPIRY_LABELS = {
    Expiry.ONE_HOUR: "1 hour",
    Expiry.ONE_DAY: "24 hours",
    Expiry.SEVEN_DAYS: "7 days",
    Expiry.THIRTY_DAYS: "30 days",
}


class Status(enum.Enum):
    """Where a secret is in its life."""

    ACTIVE = "active"
    BURNED = "burned"  # every allowed view was used; the ciphertext is gone


class ViewState(enum.Enum):
    """One recipient's view of a secret."""

    PENDING = "pending"
    CLAIMED = "claimed"  # handed out, not yet confirmed as shown
    VIEWED = "viewed"


def new_secret_id() -> str:
    """A fresh secret id: 128 random bits, URL-safe base64 (22 characters)."""
    return secrets.token_urlsafe(16)


def is_secret_id(value: object) -> bool:
    """Whether `value` has the shape of a secret id (cheap check before any lookup)."""
    return isinstance(value, str) and bool(_SECRET_ID.match(value))


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


@dataclass(frozen=True)
class ShareForm:
    """What a sender submitted, before validation."""

    team_id: str
    sender_id: str
    recipients: tuple[str, ...]
    text: str | None
    expiry_seconds: str | None
    origin_channel: str | None = None


@dataclass(frozen=True)
class SecretRecord:
    """A secret's metadata: everything about it except its content."""

    secret_id: str
    code: str
    team_id: str
    sender_id: str
    recipients: tuple[str, ...]
    created_at: float
    expires_at: float
    origin_channel: str | None = None
    status: Status = Status.ACTIVE
    views: Mapping[str, ViewState] = field(default_factory=dict)
    viewed_at: Mapping[str, float] = field(default_factory=dict)

    @property
    def expiry_label(self) -> str:
        expiry = Expiry.parse(str(round(self.expires_at - self.created_at)))
        return expiry.label if expiry else f"{round(self.expires_at - self.created_at)} s"


class RevealOutcome(enum.Enum):
    """What happened when someone asked to reveal a secret."""

    REVEALED = "revealed"
    NOT_RECIPIENT = "not_recipient"
    WRONG_TEAM = "wrong_team"
    UNAVAILABLE = "unavailable"  # unknown, already viewed, expired or burned: one answer
    FAILED = "failed"  # could not be decrypted or shown; the view was given back


class AuditAction(enum.Enum):
    """The kinds of audit event."""

    SECRET_CREATED = "secret_created"
    SECRET_OPENED = "secret_opened"
    ACCESS_DENIED = "access_denied"
    REVEAL_FAILED = "reveal_failed"


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. `detail` is a fixed phrase chosen by the code, never input."""

    action: AuditAction
    at: float
    actor: str
    team_id: str
    code: str | None = None
    secret_id: str | None = None
    recipients: tuple[str, ...] = ()
    channel: str | None = None
    expires_at: float | None = None
    detail: str | None = None
