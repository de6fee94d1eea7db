"""The domain of share-secret: what a secret is, how it is named, how long it lives.

Nothing here knows about Slack, HTTP or Redis: these are frozen values and pure
functions that the service, storage and rendering share.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# Principals and codes live in modules of their own; they are part of the domain's names.
from bot.domain.codes import (
    CODE_ALPHABET,
    CODE_GROUP_LEN,
    CODE_GROUPS,
    HANDLE_LEN,
    code_of,
    is_secret_id,
    new_secret_id,
    new_share_code,
    normalize_share_code,
)
from bot.domain.principals import (
    API_PREFIX,
    CLI_ACTOR,
    EMAIL_PREFIX,
    LINK_PRINCIPAL,
    SLACK_PLATFORM,
    WEB_VISITOR,
    api_principal,
    api_token_name,
    email_of,
    email_principal,
    is_slack_user,
    masked,
    masked_address,
)
from bot.options import Format, ViewLimit

__all__ = [
    "API_PREFIX", "CLI_ACTOR", "CODE_ALPHABET", "CODE_GROUPS", "CODE_GROUP_LEN", "EMAIL_PREFIX",
    "HANDLE_LEN", "LINK_PRINCIPAL", "SLACK_PLATFORM", "WEB_VISITOR", "api_principal",
    "api_token_name", "code_of", "email_of", "email_principal", "is_secret_id",
    "is_slack_user", "masked", "masked_address", "new_secret_id", "new_share_code",
    "normalize_share_code",
]

MAX_RECIPIENTS = 128
MAX_SECRET_CHARS = 3000  # Slack's plain_text_input limit: the modal cannot carry more.
MAX_LABEL_CHARS = 150
# 8 at least: a passphrase is the last defence of a secret whose Redis data and master key
# were both taken (then each guess costs one scrypt, see SECURITY.md "Passphrases").
MIN_PASSPHRASE_CHARS, MAX_PASSPHRASE_CHARS = 8, 200

class Status(enum.Enum):
    """Where a secret is in its life: active, then burned, expired or revoked."""

    ACTIVE = "active"
    BURNED = "burned"  # every allowed view was used; the ciphertext is gone
    EXPIRED = "expired"
    REVOKED = "revoked"


class EndOutcome(enum.StrEnum):
    """What ending a secret (revoke, expiry) found: ENDED means this call ended it; the
    others are the status it already had, and mean the call did nothing."""

    ENDED = "active"  # END's word: the secret was active, and this call ended it
    BURNED = "burned"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_DUE = "not_due"  # an expiry that came early (the sweep's clock): nothing done


class StaleOutcome(enum.StrEnum):
    """How the sweep settled a view whose process stopped mid-reveal."""

    RETURNED = "returned"  # it was not yet being shown: given back
    VIEWED = "viewed"  # Slack was asked to show it, so it may have been seen: counted
    BURNED = "burned"  # ... and it was the last view


class Audience(enum.Enum):
    """Who may open a secret: people of the workspace (Reveal buttons in Slack), people by
    email address (a link, and a code mailed to the address), or anyone with the link."""

    WORKSPACE = "workspace"
    EMAIL = "email"
    LINK = "link"

    @property
    def external(self) -> bool:
        """Opened on the web page (PUBLIC_URL/s/...), not in Slack."""
        return self is not Audience.WORKSPACE


class ViewState(enum.Enum):
    """One recipient's view of a secret."""

    PENDING = "pending"
    CLAIMED = "claimed"  # handed out, not yet confirmed as shown
    VIEWED = "viewed"


@dataclass(frozen=True)
class ShareForm:
    """What a sender submitted, before validation: raw strings, None where left empty."""

    team_id: str
    sender_id: str
    recipients: tuple[str, ...]
    text: str | None
    expiry_seconds: str | None = None
    custom_expiry: str | None = None
    view_mode: str | None = None
    total_views: str | None = None
    format: str | None = None
    label: str | None = None
    passphrase: str | None = None
    notify: bool = True
    origin_channel: str | None = None
    audience: Audience = Audience.WORKSPACE
    emails: str | None = None  # EMAIL: the addresses as typed (commas or newlines)
    mail_link: bool = True  # EMAIL: mail the link to each address (when mail is set up)
    receipts_to: str | None = None  # see SecretRecord.receipts_to


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
    label: str | None = None
    format: Format = Format.TEXT
    view_limit: ViewLimit = field(default_factory=ViewLimit)
    has_passphrase: bool = False
    notify: bool = True
    status: Status = Status.ACTIVE
    views_used: int = 0
    ended_at: float | None = None
    ended_by: str | None = None
    views: Mapping[str, ViewState] = field(default_factory=dict)
    viewed_at: Mapping[str, float] = field(default_factory=dict)
    dm_messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    audience: Audience = Audience.WORKSPACE
    link_check: str | None = None  # external secrets: recognises the link's key (sealed)
    # Where a non-Slack sender's notices go: a channel (C…/G…) or user id (U…/W…); None:
    # nowhere (a Slack sender's go to their DM). Sealed. See Delivery.to_sender.
    receipts_to: str | None = None
    # Read from storage whose seal over who may see it, and when, did not verify (changed
    # in Redis, or written before seals): never shown or announced (bot.storage.secret_fields).
    tampered: bool = False

    @property
    def views_allowed(self) -> int | None:
        """How many views in all (None: unlimited until expiry)."""
        return self.view_limit.allowed(len(self.recipients))

    @property
    def name(self) -> str:
        """How to call it in messages: its label, else its code."""
        return self.label or self.code


class RevealOutcome(enum.Enum):
    """What happened when someone asked to reveal a secret."""

    REVEALED = "revealed"
    NOT_RECIPIENT = "not_recipient"
    WRONG_TEAM = "wrong_team"
    UNAVAILABLE = "unavailable"  # unknown, already viewed, expired, revoked: one answer
    IN_FLIGHT = "in_flight"  # this person's own reveal is already under way (a double click)
    FAILED = "failed"  # could not be decrypted; the view was given back
    # Its stored metadata failed its seal (changed in Redis): refused like an unknown
    # secret, audited, the view given back, nothing decrypted.
    TAMPERED = "tampered"
    NEEDS_PASSPHRASE = "needs_passphrase"
    WRONG_PASSPHRASE = "wrong_passphrase"  # the view was given back
    LOCKED = "locked"  # too many wrong passphrases; try later
    # As many passphrase guesses as allowed are counted, some still being checked; try later
    GUESSES_PENDING = "guesses_pending"
    RATE_LIMITED = "rate_limited"  # this person tried too often; nothing was claimed
    REPEATED = "repeated"  # a replay of an attempt already taken in; nothing was done


class AuditAction(enum.Enum):
    """The kinds of audit event."""

    SECRET_CREATED = "secret_created"
    SECRET_OPENED = "secret_opened"
    SECRET_BURNED = "secret_burned"
    SECRET_EXPIRED = "secret_expired"
    SECRET_REVOKED = "secret_revoked"
    SECRET_REVOKED_ADMIN = "secret_revoked_admin"
    ACCESS_DENIED = "access_denied"
    PASSPHRASE_FAILED = "passphrase_failed"
    PASSPHRASE_LOCKED = "passphrase_locked"
    SECRET_REQUESTED = "secret_requested"
    REVEAL_FAILED = "reveal_failed"
    ADMIN_VIEWED = "admin_viewed"
    SETTINGS_CHANGED = "settings_changed"  # a workspace's audit channel or admins (OAuth)
    RATE_LIMITED = "rate_limited"  # someone reached a rate limit; nothing was done
    # More refusals of one person in a window than are audited one by one: how many.
    REFUSALS_MERGED = "refusals_merged"
    PAGE_OPENED = "page_opened"  # an external secret's web page was loaded (throttled)
    CODE_SENT = "code_sent"  # a one-time code was mailed to an email recipient
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"
    UNREADABLE = "unreadable"  # an entry of the stream this version cannot read


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened, with metadata only: never a secret's content."""

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
    event_id: str | None = None  # assigned by the audit stream
    # Events of the web page (external secrets): "external", the client's IP and a
    # shortened user agent. None for Slack's (internal) events.
    mode: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
