"""What viewing a secret can come to: the outcomes, and one parser per view script's
reply (bot.storage.secret_views_lua) that turns it into named fields, so that no caller
reads a reply by position."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from bot.domain import EndOutcome, code_of
from bot.storage import replies
from bot.storage.secret_fields import SEAL_FIELD, SEALED_FIELDS


class ClaimOutcome(StrEnum):
    """How a claim ended (the values are CLAIM's words)."""

    CLAIMED = "claimed"
    UNKNOWN = "unknown"
    WRONG_TEAM = "wrong_team"
    NOT_RECIPIENT = "not_recipient"
    UNAVAILABLE = "unavailable"
    LOCKED = "locked"
    IN_FLIGHT = "in_flight"  # this person's own reveal is already under way
    GUESSING = "guessing"  # as many passphrase guesses as allowed are counted already
    TAMPERED = "tampered"  # the record's seal failed: refused, the view given back
    REPEATED = "repeated"  # the attempt was taken in before (a replayed click): nothing done
    LIMITED = "limited"  # over the person's reveal limit (`wait_ms`): nothing claimed


class ConfirmOutcome(StrEnum):
    """What confirming a claimed view did (the values are CONFIRM's words)."""

    VIEWED = "viewed"
    BURNED = "burned"  # it was the last view: the ciphertext is gone
    NOT_CLAIMED = "not_claimed"  # no claim of this person's was open


REFUSED = {ClaimOutcome.UNKNOWN, ClaimOutcome.WRONG_TEAM, ClaimOutcome.NOT_RECIPIENT}


@dataclass(frozen=True)
class Guess:
    """A passphrase guess that a claim counts before it is checked: at most `tries` are
    counted within any `window_seconds`. `token` names it (random, made per attempt)."""

    token: str
    tries: int
    window_seconds: int


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: an outcome, and what the reveal needs when `claimed`."""

    outcome: ClaimOutcome
    ciphertext: bytes | None = None
    code: str | None = None
    sender_id: str | None = None
    receipts_to: str | None = None  # where a non-Slack sender's receipts go (sealed)
    label: str | None = None
    notify: bool = True
    has_passphrase: bool = False
    locked_ms: int = 0
    wait_ms: int = 0  # LIMITED: until an attempt is allowed
    mode: str = "each"
    views_left: int | None = None  # after this claim, in all (None: unlimited)
    views_allowed: int | None = None  # in all, used or not (None: unlimited)
    showing: bool = False  # marked as being shown in the claim's step (no SHOWING needed)


@dataclass(frozen=True)
class ClaimReply:
    """CLAIM's reply, by name."""

    claim: Claim
    held: bool = False  # refused, yet this person has a view of it in flight
    sealed: dict[str, str] = field(default_factory=dict)  # the sealed fields and the seal


def claim_reply(answer: object, secret_id: str) -> ClaimReply:
    """CLAIM's reply: the claim, and what the store checks before handing it out."""
    reply = replies.array(answer)
    outcome = ClaimOutcome(replies.text(reply[0]))
    code = code_of(secret_id) if outcome is not ClaimOutcome.UNKNOWN else None
    if outcome is ClaimOutcome.LOCKED:
        return ClaimReply(Claim(outcome, code=code, locked_ms=int(reply[1])))
    if outcome in (ClaimOutcome.REPEATED, ClaimOutcome.LIMITED):
        return ClaimReply(Claim(outcome, code=code, wait_ms=int(reply[1])),
                          held=bool(int(reply[2])))
    if outcome is not ClaimOutcome.CLAIMED:
        return ClaimReply(Claim(outcome, code=code),
                          held=outcome in REFUSED and bool(int(reply[1])))
    left, allowed = int(reply[7]), int(reply[8])
    sealed = {name: replies.text(value) for name, value in
              zip((*SEALED_FIELDS, SEAL_FIELD), replies.array(reply[9]), strict=True)
              if value is not None}
    if left >= 0:
        # `left` is present: the views in all are the sum the script answered.
        sealed.update(left=str(allowed))
    return ClaimReply(Claim(
        outcome, ciphertext=replies.raw(reply[1]), code=code,
        sender_id=replies.text(reply[2]), receipts_to=sealed.get("rto"),
        label=replies.text(reply[3]) or None,
        notify=replies.text(reply[4]) == "1", has_passphrase=replies.text(reply[5]) == "1",
        mode=replies.text(reply[6]), views_left=None if left < 0 else left,
        views_allowed=None if allowed < 0 else allowed,
        showing=bool(int(reply[10]))), sealed=sealed)


def confirm_reply(answer: object) -> tuple[ConfirmOutcome, int]:
    """CONFIRM's reply: what it did, and the views used."""
    state, used = replies.array(answer)
    return ConfirmOutcome(replies.text(state)), int(used)


def end_reply(answer: object) -> tuple[EndOutcome, int]:
    """END's reply: what it found, and the views in flight at that moment."""
    previous, in_flight = replies.array(answer)
    return EndOutcome(replies.text(previous)), int(in_flight)


class Stale(IntEnum):
    """What RETURN_STALE found of a claim."""

    NONE = 0  # no claim at or before the cutoff
    RETURNED = 1  # given back
    SHOWN = 2  # being shown: the caller counts it as used


def stale_reply(answer: object) -> tuple[Stale, int]:
    """RETURN_STALE's reply: what it found, and the claim's time."""
    found, claimed = (int(v) for v in replies.array(answer))
    return Stale(found), claimed
