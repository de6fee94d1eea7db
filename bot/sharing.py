"""Sharing and revealing secrets: the service the Slack handlers call.

It validates what a sender typed, encrypts it, stores it, and later hands it to a
recipient exactly once. It knows nothing of Slack: people are checked through a
`PeopleDirectory`, and a secret is shown through a callback the caller passes in, so
that a failure to show it gives the view back instead of destroying the secret.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot import crypto
from bot.domain import (
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    Expiry,
    RevealOutcome,
    SecretRecord,
    ShareForm,
    is_secret_id,
    new_secret_id,
    new_share_code,
)
from bot.errors import InvalidToken, ValidationFailed
from bot.storage import Claim, CodeTaken

_CODE_ATTEMPTS = 5


class PeopleDirectory(Protocol):
    """Tells people from bots, apps and deactivated accounts."""

    async def not_people(self, user_ids: tuple[str, ...]) -> Mapping[str, str]:
        """The ids among `user_ids` that cannot receive a secret, each with a short
        description naming them and why ("deploybot (a bot)").

        Raises ValidationFailed when the directory cannot be asked right now.
        """
        ...


class SecretStore(Protocol):
    """What the service needs from storage (see bot.storage.RedisSecretStore)."""

    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None: ...
    async def claim(self, secret_id: str, *, user_id: str, team_id: str,
                    now: float) -> Claim: ...
    async def confirm(self, secret_id: str, *, user_id: str, now: float) -> str: ...
    async def release(self, secret_id: str, *, user_id: str) -> bool: ...


# show(plaintext, sender_id, share_code): display the secret; raising gives the view back.
ShowSecret = Callable[[str, str, str], Awaitable[None]]


@dataclass(frozen=True)
class RevealResult:
    """How a reveal ended. `code` and `sender_id` are known unless the secret is unknown."""

    outcome: RevealOutcome
    code: str | None = None
    sender_id: str | None = None
    last_view: bool = False


class SharingService:
    """Share and reveal secrets. Collaborators are passed in; nothing is read globally."""

    def __init__(self, *, store: SecretStore, keyring: crypto.KeyRing,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock

    async def share(self, form: ShareForm, *, people: PeopleDirectory) -> SecretRecord:
        """Validate, encrypt and store a secret; raise ValidationFailed on bad input."""
        expiry = _validate(form)
        refused = await people.not_people(form.recipients)
        if refused:
            raise ValidationFailed({"recipients": _refusal(refused)})
        assert form.text is not None  # checked by _validate
        now = self._clock()
        for _ in range(_CODE_ATTEMPTS):
            record = SecretRecord(
                secret_id=new_secret_id(), code=new_share_code(), team_id=form.team_id,
                sender_id=form.sender_id, recipients=form.recipients, created_at=now,
                expires_at=now + expiry.value, origin_channel=form.origin_channel)
            ciphertext = crypto.encrypt(form.text.encode("utf-8"), record_id=record.secret_id,
                                        keyring=self._keyring)
            try:
                await self._store.create(record, ciphertext, now=now)
            except CodeTaken:
                continue
            return record
        raise CodeTaken("no free share code found")  # 2^59 codes: would mean a broken RNG

    async def reveal(self, *, secret_id: str, user_id: str, team_id: str,
                     show: ShowSecret) -> RevealResult:
        """Show a secret to a recipient once.

        The view is claimed atomically, decrypted and shown; only once `show` returns is
        it confirmed. If decryption fails, or `show` raises, the view is given back.
        """
        if not is_secret_id(secret_id):
            return RevealResult(RevealOutcome.UNAVAILABLE)
        claim = await self._store.claim(secret_id, user_id=user_id, team_id=team_id,
                                        now=self._clock())
        if claim.outcome != "claimed":
            return RevealResult(_OUTCOMES[claim.outcome], code=claim.code)
        assert claim.ciphertext is not None
        assert claim.code is not None
        assert claim.sender_id is not None
        try:
            plaintext = crypto.decrypt(claim.ciphertext, record_id=secret_id,
                                       keyring=self._keyring).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            await self._store.release(secret_id, user_id=user_id)
            return RevealResult(RevealOutcome.FAILED, code=claim.code, sender_id=claim.sender_id)
        try:
            await show(plaintext, claim.sender_id, claim.code)
        except BaseException:
            await self._store.release(secret_id, user_id=user_id)
            raise
        state = await self._store.confirm(secret_id, user_id=user_id, now=self._clock())
        return RevealResult(RevealOutcome.REVEALED, code=claim.code, sender_id=claim.sender_id,
                            last_view=state == "burned")


_OUTCOMES = {
    "unknown": RevealOutcome.UNAVAILABLE,
    "unavailable": RevealOutcome.UNAVAILABLE,
    "not_recipient": RevealOutcome.NOT_RECIPIENT,
    "wrong_team": RevealOutcome.WRONG_TEAM,
}


def _validate(form: ShareForm) -> Expiry:
    errors: dict[str, str] = {}
    if not form.recipients:
        errors["recipients"] = "Pick at least one person to share the secret with."
    elif len(form.recipients) > MAX_RECIPIENTS:
        errors["recipients"] = f"Pick at most {MAX_RECIPIENTS} people."
    if form.text is None or not form.text.strip():
        errors["secret"] = "Type or paste the secret to share."
    elif len(form.text) > MAX_SECRET_CHARS:
        errors["secret"] = f"A secret can be at most {MAX_SECRET_CHARS} characters."
    expiry = Expiry.parse(form.expiry_seconds) if form.expiry_seconds else Expiry.default()
    if expiry is None:
        errors["expiry"] = "Choose one of the expiry options."
    if errors:
        raise ValidationFailed(errors)
    assert expiry is not None
    return expiry


def _refusal(refused: Mapping[str, str]) -> str:
    # Modal error texts are plain text (no mentions) and should stay short.
    shown = list(refused.values())[:5]
    more = len(refused) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more else "")
    return f"Only people can receive secrets. Remove {listed}."
