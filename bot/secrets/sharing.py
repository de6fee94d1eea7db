"""Sharing and revealing secrets: the service the Slack handlers call.

It validates what a sender typed, encrypts it, stores it, and later hands it to a
recipient as often as the view limit allows. It knows nothing of Slack: people are
checked through a `PeopleDirectory`, and a secret is shown through a callback the
caller passes in, so that a failure to show it gives the view back instead of
destroying the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot import crypto
from bot.audit import owed as audit_owed
from bot.domain import (
    RevealOutcome,
    SecretRecord,
    ShareForm,
    is_secret_id,
    new_secret_id,
    new_share_code,
)
from bot.errors import (
    ClaimInDoubt,
    CodeTaken,
    FormatError,
    InvalidToken,
    NotShown,
    RateLimited,
    ShareNotStored,
    StorageUnavailable,
    ValidationFailed,
)
from bot.options import Format
from bot.secrets.formats import normalize
from bot.secrets.limits import Action, RateLimits
from bot.secrets.share_form import ValidShare, validate
from bot.storage import Claim, ClaimOutcome, ConfirmOutcome, Guess

_CODE_ATTEMPTS = 5
# The share form must be answered within Slack's 3 s: what runs before the answer gets this.
PRE_ANSWER_SECONDS = 2.0
SLOW = "Slack or share-secret is slow to answer right now; nothing was shared. Please try again."
# scrypt runs at most this many at once (one per core here): 128 MiB each (bot.crypto).
KDF_CONCURRENCY = 2
CONFIRM_ATTEMPTS = 3

T = TypeVar("T")


@dataclass(frozen=True)
class PassphrasePolicy:
    """At most `tries` passphrase guesses are checked within any `window` seconds (each is
    counted before it is checked; a right one is uncounted after), and `tries` wrong ones
    lock a secret for `lock` seconds."""

    tries: int = 5
    window: int = 10 * 60
    lock: int = 30 * 60


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
    async def ensure_room(self, *, team_id: str, sender_id: str, now: float) -> None: ...
    async def claim(self, secret_id: str, *, user_id: str, team_id: str,
                    now: float, guess: Guess | None = None) -> Claim: ...
    async def confirm(self, secret_id: str, *, user_id: str, now: float, detail: str = "",
                      channel: str | None = None) -> tuple[ConfirmOutcome, int]: ...
    async def drop(self, secret_ids: list[str]) -> int: ...
    async def showing(self, secret_id: str, *, user_id: str, now: float,
                      guess: str | None = None) -> bool: ...
    async def release(self, secret_id: str, *, user_id: str,
                      claimed_at: float | None = None, audited: str = "",
                      now: float = 0.0) -> bool: ...
    async def withdraw(self, record: SecretRecord) -> bool: ...
    async def record_failure(self, secret_id: str, *, guess: str, allowed: int,
                             window_seconds: int, lock_seconds: int) -> tuple[int, bool]: ...
    async def forget_guess(self, secret_id: str, *, guess: str) -> None: ...
    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None: ...


# show(plaintext, claim): display the secret; raising gives the view back.
ShowSecret = Callable[[str, Claim], Awaitable[None]]


@dataclass(frozen=True)
class RevealResult:
    """How a reveal ended, with what the caller needs to tell people about it."""

    outcome: RevealOutcome
    code: str | None = None
    sender_id: str | None = None
    label: str | None = None
    notify: bool = False
    last_view: bool = False
    views_used: int = 0
    views_allowed: int | None = None  # in all (None: unlimited)
    can_view_again: bool = False  # this person has views left (total or unlimited modes)
    has_passphrase: bool = False
    uncertain: bool = False  # showing failed in a way that may have shown it anyway
    recorded: bool = True  # False: shown, but Redis could not record the view
    # This reveal's confirmation landed, owing its audit events. False when Redis could
    # not confirm it, or an earlier try did (its answer lost) or the sweep settled the
    # view: then that step owes the events, and the sweep records them.
    confirmed: bool = True
    tries_left: int | None = None  # after a wrong passphrase
    locked_seconds: int = 0
    limited: RateLimited | None = None  # RATE_LIMITED: which limit, and when to retry


class SharingService:
    """Share and reveal secrets. Collaborators are passed in; nothing is read globally."""

    def __init__(self, *, store: SecretStore, keyring: crypto.KeyRing,
                 clock: Callable[[], float] = time.time,
                 passphrases: PassphrasePolicy | None = None,
                 limits: RateLimits | None = None) -> None:
        self._store = store
        self._limits = limits
        self._keyring = keyring
        self._clock = clock
        self._passphrases = passphrases or PassphrasePolicy()
        self._kdf_slots = asyncio.Semaphore(KDF_CONCURRENCY)

    async def share(self, form: ShareForm, *, people: PeopleDirectory,
                    budget: float = PRE_ANSWER_SECONDS) -> SecretRecord:
        """Validate, encrypt and store a secret; raise ValidationFailed on bad input, and
        RateLimited (storing nothing) when the sender has shared too often.

        Raises QuotaExceeded (storing nothing) when the secret would pass a storage cap.
        Runs before Slack is answered, so the slow parts (asking Slack about the
        recipients, a passphrase's scrypt, Redis) are bounded by `budget` seconds; past
        the bound nothing is stored (ShareNotStored when Redis may still store it late)
        and the sender is asked to try again.
        """
        valid = validate(form)
        now = self._clock()
        storing: SecretRecord | None = None
        try:
            async with asyncio.timeout(budget):
                text = await self._checked_text(form, valid)
                refused = await people.not_people(form.recipients)
                if refused:
                    raise ValidationFailed({"recipients": _refusal(refused)})
                # Counted once the share is valid (a format refusal was counted above),
                # so correcting the recipients costs nothing.
                if self._limits is not None:
                    await self._limits.take(Action.SHARE, team_id=form.team_id,
                                            user_id=form.sender_id)
                for _ in range(_CODE_ATTEMPTS):
                    record = _record(form, valid, now)
                    # The ciphertext is bound to the id, which holds the code: a taken
                    # code (odds 1 in 2^59 per secret stored) means encrypting again.
                    ciphertext = await self._encrypt(text, record.secret_id, valid.passphrase)
                    storing = record
                    try:
                        await self._store.create(record, ciphertext, now=now)
                    except CodeTaken:
                        continue
                    return record
        except StorageUnavailable:
            if storing is None:
                raise  # nothing of the secret was written
            # Redis did not answer: the write may still land when it runs again.
            raise ShareNotStored(storing) from None
        except TimeoutError:
            if storing is None:
                raise ValidationFailed({"recipients": SLOW}) from None
            raise ShareNotStored(storing) from None
        raise CodeTaken("no free share code found")  # would mean a broken RNG

    async def _checked_text(self, form: ShareForm, valid: ValidShare) -> str:
        """The text as it will be shown, once its format is checked. Someone at the share
        limit is refused before it is parsed, and a format refusal counts as a share:
        neither costs the bot more than a share would."""
        if valid.format is Format.TEXT:
            return valid.text
        if self._limits is not None:
            await self._limits.ensure_room(Action.SHARE, team_id=form.team_id,
                                           user_id=form.sender_id)
        try:
            return normalize(valid.format, valid.text)
        except FormatError as exc:
            if self._limits is not None:
                await self._limits.take(Action.SHARE, team_id=form.team_id,
                                        user_id=form.sender_id)
            raise ValidationFailed({"secret": str(exc)}) from None

    async def ensure_room_to_share(self, *, team_id: str, user_id: str) -> None:
        """Raise RateLimited, or QuotaExceeded, when a share by this person would be
        refused now (counts nothing: it warns before the form is filled in)."""
        if self._limits is not None:
            await self._limits.ensure_room(Action.SHARE, team_id=team_id, user_id=user_id)
        await self._store.ensure_room(team_id=team_id, sender_id=user_id, now=self._clock())

    async def count_request(self, *, team_id: str, user_id: str) -> None:
        """Count one request for a secret (`/share-secret request`); raise RateLimited,
        counting nothing, when this person has asked too often."""
        if self._limits is not None:
            await self._limits.take(Action.REQUEST, team_id=team_id, user_id=user_id)

    async def withdraw(self, record: SecretRecord) -> bool:
        """Call off a share that could not be confirmed as stored (ShareNotStored), so the
        sender's "nothing was shared" stays true; True when a stored copy was removed."""
        return await self._store.withdraw(record)

    async def give_back(self, doubt: ClaimInDoubt) -> bool:
        """Give back a claim whose answer was lost (ClaimInDoubt), if it landed; the
        give-back owes its reveal_failed event (audit_owed.returned_nonce)."""
        return await self._store.release(doubt.secret_id, user_id=doubt.user_id,
                                         claimed_at=doubt.claimed_at,
                                         audited=audit_owed.GIVEN_BACK_IN_OUTAGE,
                                         now=self._clock())

    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None:
        """Remember where recipients' Reveal DMs are (channel, ts), to update them later."""
        await self._store.note_dms(secret_id, dms)

    async def _encrypt(self, text: str, record_id: str, passphrase: str | None) -> bytes:
        def work() -> bytes:
            return crypto.encrypt(text.encode("utf-8"), record_id=record_id,
                                  keyring=self._keyring, passphrase=passphrase)
        if passphrase is None:
            return work()
        return await self._kdf(work)

    async def _kdf(self, work: Callable[[], T]) -> T:
        """Run passphrase work (scrypt: ~0.3 s of CPU and 128 MiB) on a thread, off the
        event loop, at most KDF_CONCURRENCY at once. A slot is held until its thread is
        done, even when the caller stops waiting (a share past its budget), so abandoned
        work never lets more run at once."""
        await self._kdf_slots.acquire()
        try:
            running = asyncio.get_running_loop().run_in_executor(None, work)
        except BaseException:
            self._kdf_slots.release()
            raise

        def done(future: asyncio.Future[T]) -> None:
            self._kdf_slots.release()
            if not future.cancelled():
                future.exception()  # retrieved, for a caller that stopped waiting
        running.add_done_callback(done)
        return await asyncio.shield(running)

    async def reveal(self, *, secret_id: str, user_id: str, team_id: str, show: ShowSecret,
                     passphrase: str | None = None, channel: str | None = None,
                     attempt: str | None = None) -> RevealResult:
        """Show a secret to a recipient with a view left: claim, decrypt, mark it as being
        shown, `show`, confirm.

        A view that cannot have been shown (a bad token, a wrong passphrase, NotShown) is
        given back; one that may have been counts as used (`uncertain`: `show` failed
        otherwise, say Slack's answer was lost), so a secret is never shown twice for one
        view. `passphrase` is a guess, counted before it is checked; a repeated `attempt`
        (a click's trigger id, marked by the rate limits) does nothing (REPEATED).
        """
        if not is_secret_id(secret_id):
            return RevealResult(RevealOutcome.UNAVAILABLE)
        if attempt is not None and self._limits is None:
            raise ValueError("an attempt is marked by the rate limits: none were given")
        if self._limits is not None:
            # Before the claim: a refused attempt uses up no view and learns nothing.
            try:
                if not await self._limits.take(Action.REVEAL, team_id=team_id,
                                               user_id=user_id, once=attempt):
                    return RevealResult(RevealOutcome.REPEATED)
            except RateLimited as exc:
                return RevealResult(RevealOutcome.RATE_LIMITED, limited=exc)
        now = self._clock()
        policy = self._passphrases
        # A passphrase guess is counted in the claim's step, before the (slow) check, so
        # that many people guessing at once get no more tries than one person alone
        # (GUESSES_PENDING while the others are being checked, LOCKED once they proved
        # wrong).
        guess = None if passphrase is None else Guess(
            secrets.token_urlsafe(12), tries=policy.tries, window_seconds=policy.window)
        try:
            claim = await self._store.claim(secret_id, user_id=user_id, team_id=team_id,
                                            now=now, guess=guess)
        except StorageUnavailable:
            raise ClaimInDoubt(secret_id, user_id, now) from None  # a guess stays counted
        if claim.outcome is ClaimOutcome.LOCKED:
            return RevealResult(RevealOutcome.LOCKED, code=claim.code,
                                locked_seconds=max(1, claim.locked_ms // 1000))
        if claim.outcome is not ClaimOutcome.CLAIMED:
            return RevealResult(_OUTCOMES[claim.outcome], code=claim.code)
        if claim.has_passphrase and passphrase is None:
            await self._store.release(secret_id, user_id=user_id)
            return RevealResult(RevealOutcome.NEEDS_PASSPHRASE, code=claim.code)
        assert claim.ciphertext is not None
        counted = guess.token if guess is not None and claim.has_passphrase else None
        try:
            plaintext = await self._decrypt(claim.ciphertext, secret_id, passphrase)
        except (InvalidToken, UnicodeDecodeError):
            await self._store.release(secret_id, user_id=user_id)
            return await self._failed(secret_id, claim, counted)
        try:
            # Marked as being shown in a step of its own, right before `show`: a process
            # dying from here on leaves a view the sweep counts as used, while a view only
            # claimed (never shown) is given back. Refused (and the view given back) when
            # the secret was revoked or expired while it was being decrypted: the same
            # answer as a revoked secret's. A counted guess was right: uncounted in the
            # same step.
            if not await self._store.showing(secret_id, user_id=user_id, now=self._clock(),
                                             guess=counted):
                return RevealResult(RevealOutcome.UNAVAILABLE, code=claim.code)
        except StorageUnavailable:
            raise ClaimInDoubt(secret_id, user_id, now) from None  # given back later
        uncertain = False
        try:
            await show(plaintext, claim)
        except NotShown:
            await self._store.release(secret_id, user_id=user_id)
            raise
        except Exception:  # noqa: BLE001 - reported as `uncertain`; the caller logs it
            uncertain = True
        # The confirmation owes its audit events (secret_opened, in `channel`;
        # secret_burned for the last view) in the same step.
        state, used = await self._confirm_after_show(
            secret_id, user_id, detail=audit_owed.UNCONFIRMED if uncertain else "",
            channel=channel)
        if state is ConfirmOutcome.BURNED:
            # Out of the expiry index at once (the sweep would drop it at its expiry time
            # otherwise), so that the index counts only active secrets.
            with contextlib.suppress(StorageUnavailable):
                await self._store.drop([secret_id])
        return RevealResult(RevealOutcome.REVEALED, code=claim.code, sender_id=claim.sender_id,
                            label=claim.label, notify=claim.notify,
                            last_view=state is ConfirmOutcome.BURNED,
                            views_used=used, views_allowed=claim.views_allowed,
                            uncertain=uncertain,
                            recorded=state is not None,
                            confirmed=state in (ConfirmOutcome.VIEWED, ConfirmOutcome.BURNED),
                            has_passphrase=claim.has_passphrase,
                            can_view_again=claim.mode != "each" and (
                                claim.views_left is None or claim.views_left > 0))

    async def _confirm_after_show(self, secret_id: str, user_id: str, *, detail: str,
                                  channel: str | None) -> tuple[ConfirmOutcome | None, int]:
        # The secret has been shown: the view must be recorded, and nothing may be shown
        # again for it. A Redis blip is retried; if it lasts, the claim stays open (and is
        # reported as not recorded: None) rather than being given back.
        for attempt in range(CONFIRM_ATTEMPTS):
            try:
                return await self._store.confirm(secret_id, user_id=user_id,
                                                 now=self._clock(), detail=detail,
                                                 channel=channel)
            except StorageUnavailable:
                if attempt + 1 < CONFIRM_ATTEMPTS:
                    await asyncio.sleep(0.2 * (attempt + 1))
        return None, 0

    async def _decrypt(self, ciphertext: bytes, record_id: str, passphrase: str | None) -> str:
        def work() -> str:
            return crypto.decrypt(ciphertext, record_id=record_id, keyring=self._keyring,
                                  passphrase=passphrase).decode("utf-8")
        if passphrase is None:
            return work()
        return await self._kdf(work)

    async def _failed(self, secret_id: str, claim: Claim, guess: str | None) -> RevealResult:
        # `guess`: the passphrase guess the claim counted (None: no passphrase was needed,
        # or none was given).
        key_known = _key_known(claim.ciphertext or b"", self._keyring)
        if guess is None or not key_known:
            # Not the person's fault: a key was removed, or the data is damaged.
            if guess is not None:
                await self._store.forget_guess(secret_id, guess=guess)
            return RevealResult(RevealOutcome.FAILED, code=claim.code, sender_id=claim.sender_id)
        policy = self._passphrases
        failures, locked = await self._store.record_failure(
            secret_id, guess=guess, allowed=policy.tries, window_seconds=policy.window,
            lock_seconds=policy.lock)
        if locked:
            return RevealResult(RevealOutcome.LOCKED, code=claim.code, sender_id=claim.sender_id,
                                locked_seconds=policy.lock, tries_left=0)
        return RevealResult(RevealOutcome.WRONG_PASSPHRASE, code=claim.code,
                            sender_id=claim.sender_id, tries_left=policy.tries - failures)


def _key_known(token: bytes, keyring: crypto.KeyRing) -> bool:
    try:
        return keyring.key(crypto.key_id_of(token)) is not None
    except InvalidToken:
        return False


_OUTCOMES = {
    ClaimOutcome.GUESSING: RevealOutcome.GUESSES_PENDING,
    ClaimOutcome.UNKNOWN: RevealOutcome.UNAVAILABLE,
    ClaimOutcome.UNAVAILABLE: RevealOutcome.UNAVAILABLE,
    ClaimOutcome.NOT_RECIPIENT: RevealOutcome.NOT_RECIPIENT,
    ClaimOutcome.IN_FLIGHT: RevealOutcome.IN_FLIGHT,
    ClaimOutcome.TAMPERED: RevealOutcome.TAMPERED,
    ClaimOutcome.WRONG_TEAM: RevealOutcome.WRONG_TEAM,
}


def _record(form: ShareForm, valid: ValidShare, now: float) -> SecretRecord:
    code = new_share_code()
    return SecretRecord(
        secret_id=new_secret_id(code), code=code, team_id=form.team_id,
        sender_id=form.sender_id, recipients=form.recipients, created_at=now,
        expires_at=now + valid.lifetime, origin_channel=form.origin_channel,
        label=valid.label, format=valid.format, view_limit=valid.view_limit,
        has_passphrase=valid.passphrase is not None, notify=form.notify)


def _refusal(refused: Mapping[str, str]) -> str:
    # Modal error texts are plain text (no mentions) and should stay short.
    shown = list(refused.values())[:5]
    more = len(refused) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more else "")
    return f"Only people can receive secrets. Remove {listed}."
