"""Names and details of the audit events a state change owes (bot.storage.owed).

The Lua scripts that change a secret note the event they imply under a nonce built the
same way (bot.storage.lua.OWE); the process that made the change appends the event under
that nonce and settles it; the sweep appends what a dead process left. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import AuditAction

# Details worded once, used by the process and carried in the owed entry for the sweep.
UNCONFIRMED = "display not confirmed by Slack"
BURNED = "last view used; ciphertext deleted"
GIVEN_BACK_IN_OUTAGE = "a view claimed during a storage outage was given back"
GIVEN_BACK_STALE = "a view in progress when a bot process stopped was given back"
TAMPERED = ("refused: its stored metadata failed the integrity check (changed in Redis, "
            "stored before metadata was sealed, or its key was removed)")
TAMPERED_DELIVERY = ("Reveal messages not sent: its stored metadata failed the integrity "
                     "check (changed in Redis, stored before metadata was sealed, or its key "
                     "was removed)")
SHOWN_WHEN_STOPPED = ("display not confirmed: its bot process stopped while Slack was "
                      "showing it, so the view counts as used")


def created_nonce(secret_id: str) -> str:
    """`secret_created` (CREATE)."""
    return "created:" + secret_id


def opened_nonce(secret_id: str, used: int) -> str:
    """The `secret_opened` of a secret's `used`-th view (CONFIRM)."""
    return f"opened:{secret_id}:{used}"


def burned_nonce(secret_id: str) -> str:
    """`secret_burned` (CONFIRM of the last view)."""
    return f"burned:{secret_id}"


def ended_nonce(secret_id: str) -> str:
    """Revoked or expired: a secret ends once (END)."""
    return f"ended:{secret_id}"


def returned_nonce(secret_id: str, user_id: str, claimed_at: int) -> str:
    """A claimed view given back, audited as reveal_failed (RELEASE_VIEW, RETURN_STALE)."""
    return f"returned:{secret_id}:{user_id}:{claimed_at}"


@dataclass(frozen=True)
class OwedEvent:
    """What a script recorded of an event: enough, with the secret's metadata, to word it."""

    handle: str
    nonce: str
    action: AuditAction
    at: float
    actor: str
    secret_id: str | None
    team_id: str | None
    detail: str | None = None
    channel: str | None = None
    in_flight: int = 0  # views handed out when the secret ended
    order: tuple[str, int] = ("", 0)  # Redis's clock when owed, then the script's count
