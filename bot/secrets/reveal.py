"""Revealing a secret: claim a view, check a passphrase guess, show it, confirm the view
(or give it back).

A view is given back whenever it cannot have been shown, and counted as used whenever it
may have been, so a secret is never shown twice for one view. Nothing of Slack in here:
the caller passes in how to show a secret (`ShowSecret`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot import crypto
from bot.audit import owed as audit_owed
from bot.domain import RevealOutcome, is_secret_id
from bot.errors import ClaimInDoubt, InvalidToken, NotShown, RateLimited, StorageUnavailable
from bot.secrets.kdf import KdfSlots
from bot.secrets.limits import Action, RateLimits
from bot.storage import Claim, ClaimOutcome, ConfirmOutcome, Guess, RateStep

CONFIRM_ATTEMPTS = 3


@dataclass(frozen=True)
class PassphrasePolicy:
    """At most `tries` passphrase guesses are checked within any `window` seconds (each is
    counted before it is checked; a right one is uncounted after), and `tries` wrong ones
    lock a secret for `lock` seconds."""

    tries: int = 5
    window: int = 10 * 60
    lock: int = 30 * 60


class RevealStore(Protocol):
    """What a reveal needs from storage (see bot.storage.RedisSecretStore)."""

    async def claim(self, secret_id: str, *, user_id: str, team_id: str,
                    now: float, guess: Guess | None = None, showing: bool = False,
                    rate: RateStep | None = None) -> Claim: ...
    async def confirm(self, secret_id: str, *, user_id: str, now: float, detail: str = "",
                      channel: str | None = None,
                      give_back: bool = True) -> tuple[ConfirmOutcome, int]: ...
    async def showing(self, secret_id: str, *, user_id: str, now: float,
                      guess: str | None = None) -> bool: ...
    async def release(self, secret_id: str, *, user_id: str,
                      claimed_at: float | None = None, audited: str = "",
                      now: float = 0.0) -> bool: ...
    async def record_failure(self, secret_id: str, *, guess: str, allowed: int,
                             window_seconds: int, lock_seconds: int) -> tuple[int, bool]: ...
    async def forget_guess(self, secret_id: str, *, guess: str) -> None: ...


# show(plaintext, claim): display the secret; raising gives the view back.
ShowSecret = Callable[[str, Claim], Awaitable[None]]


@dataclass(frozen=True)
class RevealResult:
    """How a reveal ended, with what the caller needs to tell people about it."""

    outcome: RevealOutcome
    code: str | None = None
    sender_id: str | None = None
    receipts_to: str | None = None  # where a non-Slack sender's receipts go
    label: str | None = None
    notify: bool = False
    last_view: bool = False  # it burned: the caller lets go of it (bot.secrets.followups)
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


class RevealService:
    """Reveal secrets to their recipients. Collaborators are passed in."""

    def __init__(self, *, store: RevealStore, keyring: crypto.KeyRing, kdf: KdfSlots,
                 clock: Callable[[], float] = time.time,
                 passphrases: PassphrasePolicy | None = None,
                 limits: RateLimits | None = None) -> None:
        self._store = store
        self._limits = limits
        self._keyring = keyring
        self._kdf = kdf
        self._clock = clock
        self._passphrases = passphrases or PassphrasePolicy()

    async def reveal(self, *, secret_id: str, user_id: str, team_id: str, show: ShowSecret,
                     passphrase: str | None = None, channel: str | None = None,
                     attempt: str | None = None,
                     link_key: bytes | None = None) -> RevealResult:
        """Show a secret to a recipient with a view left: claim, decrypt, mark it as being
        shown, `show`, confirm.

        A view that cannot have been shown (a bad token, a wrong passphrase, NotShown) is
        given back; one that may have been counts as used (`uncertain`: `show` failed
        otherwise, say Slack's answer was lost), so a secret is never shown twice for one
        view. `passphrase` is a guess, counted before it is checked; a repeated `attempt`
        (a click's trigger id, marked by the rate limits) does nothing (REPEATED).
        `link_key`: an external secret's key, from its link (a wrong one fails like a
        damaged token: FAILED, the view given back).
        """
        if not is_secret_id(secret_id):
            return RevealResult(RevealOutcome.UNAVAILABLE)
        if attempt is not None and self._limits is None:
            raise ValueError("an attempt is marked by the rate limits: none were given")
        # Taken in by the claim's step, before anything is claimed: a refused attempt uses
        # up no view and learns nothing.
        rate = None if self._limits is None else self._limits.step(
            Action.REVEAL, team_id=team_id, user_id=user_id, once=attempt)
        now = self._clock()
        policy = self._passphrases
        # A passphrase guess is counted in the claim's step, before the (slow) check, so
        # that many people guessing at once get no more tries than one person alone
        # (GUESSES_PENDING while the others are being checked, LOCKED once they proved
        # wrong).
        guess = None if passphrase is None else Guess(
            secrets.token_urlsafe(12), tries=policy.tries, window_seconds=policy.window)
        try:
            # Without a passphrase to check, nothing that waits comes between the claim
            # and `show` (the decryption is quick and on the event loop): the claim's
            # step also marks the view as being shown.
            claim = await self._store.claim(secret_id, user_id=user_id, team_id=team_id,
                                            now=now, guess=guess, showing=passphrase is None,
                                            rate=rate)
        except StorageUnavailable:
            raise ClaimInDoubt(secret_id, user_id, now) from None  # a guess stays counted
        if claim.outcome is ClaimOutcome.REPEATED:
            return RevealResult(RevealOutcome.REPEATED)
        if claim.outcome is ClaimOutcome.LIMITED:
            assert self._limits is not None
            return RevealResult(RevealOutcome.RATE_LIMITED, limited=self._limits.refused(
                Action.REVEAL, claim.wait_ms / 1000))
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
            plaintext = await self._decrypt(claim.ciphertext, secret_id, passphrase, link_key)
        except (InvalidToken, UnicodeDecodeError):
            await self._store.release(secret_id, user_id=user_id)
            return await self._failed(secret_id, claim, counted)
        try:
            # Marked as being shown right before `show` (in the claim's step when no
            # passphrase was checked): a process dying from here on leaves a view the
            # sweep counts as used, while a view only claimed (never shown) is given
            # back. After a passphrase check (scrypt, off the event loop), a step of its
            # own: refused (and the view given back) when the secret was revoked or
            # expired meanwhile, the same answer as a revoked secret's; the counted
            # guess was right, and is uncounted in the same step.
            if not claim.showing and not await self._store.showing(
                    secret_id, user_id=user_id, now=self._clock(), guess=counted):
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
        # A burned secret leaves the expiry index and gives its quota room back after
        # this, with other reveals' (the caller's bot.secrets.followups: `last_view`).
        state, used = await self._confirm_after_show(
            secret_id, user_id, detail=audit_owed.UNCONFIRMED if uncertain else "",
            channel=channel)
        return RevealResult(RevealOutcome.REVEALED, code=claim.code, sender_id=claim.sender_id,
                            receipts_to=claim.receipts_to,
                            label=claim.label, notify=claim.notify,
                            last_view=state is ConfirmOutcome.BURNED,
                            views_used=used, views_allowed=claim.views_allowed,
                            uncertain=uncertain,
                            recorded=state is not None,
                            confirmed=state in (ConfirmOutcome.VIEWED, ConfirmOutcome.BURNED),
                            has_passphrase=claim.has_passphrase,
                            can_view_again=claim.mode != "each" and (
                                claim.views_left is None or claim.views_left > 0))

    async def give_back(self, doubt: ClaimInDoubt) -> bool:
        """Give back a claim whose answer was lost (ClaimInDoubt), if it landed; the
        give-back owes its reveal_failed event (bot.audit.events.claim_given_back)."""
        return await self._store.release(doubt.secret_id, user_id=doubt.user_id,
                                         claimed_at=doubt.claimed_at,
                                         audited=audit_owed.GIVEN_BACK_IN_OUTAGE,
                                         now=self._clock())

    async def _confirm_after_show(self, secret_id: str, user_id: str, *, detail: str,
                                  channel: str | None) -> tuple[ConfirmOutcome | None, int]:
        # The secret has been shown: the view must be recorded, and nothing may be shown
        # again for it. A Redis blip is retried; if it lasts, the claim stays open (and is
        # reported as not recorded: None) rather than being given back.
        for attempt in range(CONFIRM_ATTEMPTS):
            try:
                return await self._store.confirm(secret_id, user_id=user_id,
                                                 now=self._clock(), detail=detail,
                                                 channel=channel, give_back=False)
            except StorageUnavailable:
                if attempt + 1 < CONFIRM_ATTEMPTS:
                    await asyncio.sleep(0.2 * (attempt + 1))
        return None, 0

    async def _decrypt(self, ciphertext: bytes, record_id: str, passphrase: str | None,
                       link_key: bytes | None) -> str:
        def work() -> str:
            return crypto.decrypt(ciphertext, record_id=record_id, keyring=self._keyring,
                                  passphrase=passphrase, link_key=link_key).decode("utf-8")
        if passphrase is None:
            return work()
        return await self._kdf.run(work)

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
