"""Sharing secrets: the service the Slack handlers call.

It validates what a sender typed, encrypts it and stores it; revealing it later is
bot.secrets.reveal's, reached through the same service. It knows nothing of Slack: people
are checked through a `PeopleDirectory`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol, TypeVar

from bot import crypto
from bot.domain import SecretRecord, ShareForm, new_secret_id, new_share_code
from bot.errors import (
    ClaimInDoubt,
    CodeTaken,
    FormatError,
    ShareNotStored,
    StorageUnavailable,
    ValidationFailed,
)
from bot.options import Format
from bot.secrets.external import ExternalPolicy, ExternalShare, link_check, new_link_key
from bot.secrets.external_form import validate_external
from bot.secrets.formats import normalize
from bot.secrets.kdf import KDF_CONCURRENCY, KdfSlots
from bot.secrets.limits import Action, RateLimits
from bot.secrets.reveal import (
    PassphrasePolicy,
    RevealResult,
    RevealService,
    RevealStore,
    ShowSecret,
)
from bot.secrets.share_form import ValidShare, validate

_CODE_ATTEMPTS = 5
# The share form must be answered within Slack's 3 s: what runs before the answer gets this.
PRE_ANSWER_SECONDS = 2.0
SLOW = "Slack or share-secret is slow to answer right now; nothing was shared. Please try again."

T = TypeVar("T")


class PeopleDirectory(Protocol):
    """Tells people from bots, apps and deactivated accounts."""

    async def not_people(self, user_ids: tuple[str, ...]) -> Mapping[str, str]:
        """The ids among `user_ids` that cannot receive a secret, each with a short
        description naming them and why ("deploybot (a bot)").

        Raises ValidationFailed when the directory cannot be asked right now.
        """
        ...


class SecretStore(RevealStore, Protocol):
    """What the service needs from storage (see bot.storage.RedisSecretStore)."""

    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None: ...
    async def ensure_room(self, *, team_id: str, sender_id: str, now: float) -> None: ...
    async def withdraw(self, record: SecretRecord) -> bool: ...
    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None: ...


class SharingService:
    """Share secrets, and reveal them (bot.secrets.reveal.RevealService). Collaborators are
    passed in; nothing is read globally."""

    def __init__(self, *, store: SecretStore, keyring: crypto.KeyRing,
                 clock: Callable[[], float] = time.time,
                 passphrases: PassphrasePolicy | None = None,
                 limits: RateLimits | None = None) -> None:
        self._store = store
        self._limits = limits
        self._keyring = keyring
        self._clock = clock
        self._kdf_slots = KdfSlots(KDF_CONCURRENCY)  # shared by shares and reveals
        self._reveals = RevealService(store=store, keyring=keyring, kdf=self._kdf_slots,
                                      clock=clock, passphrases=passphrases, limits=limits)
        # The web page's reveals: limited per client and per secret by their caller
        # (bot.secrets.web_reveal), not per person as Slack's are.
        self.web_reveals = RevealService(store=store, keyring=keyring, kdf=self._kdf_slots,
                                         clock=clock, passphrases=passphrases)

    async def share_external(self, form: ShareForm, *, policy: ExternalPolicy,
                             budget: float = PRE_ANSWER_SECONDS,
                             counted: bool = True) -> ExternalShare:
        """`share`, for people outside Slack (form.audience EMAIL or LINK): checked against
        the workspace's `policy`, encrypted under a fresh link key inside the key ring's
        layer. The key is returned for the link, and never stored."""
        if not form.audience.external:
            raise ValueError("share_external is for the email and link audiences")
        valid, principals = validate_external(form, policy)
        link_key = new_link_key()
        record = await self._store_share(replace(form, recipients=principals), valid,
                                         budget=budget, link_key=link_key, counted=counted)
        return ExternalShare(record, link_key)

    async def share(self, form: ShareForm, *, people: PeopleDirectory | None,
                    budget: float = PRE_ANSWER_SECONDS, counted: bool = True) -> SecretRecord:
        """Validate, encrypt and store a secret; raise ValidationFailed on bad input, and
        RateLimited (storing nothing) when the sender has shared too often.

        Raises QuotaExceeded (storing nothing) when the secret would pass a storage cap.
        Runs before Slack is answered, so the slow parts (asking Slack about the
        recipients, a passphrase's scrypt, Redis) are bounded by `budget` seconds; past
        the bound nothing is stored (ShareNotStored when Redis may still store it late)
        and the sender is asked to try again.

        `counted`: False for a share counted by its caller instead (the HTTP API counts
        requests per token): the sender's share limit is then not applied.
        """
        return await self._store_share(form, validate(form), budget=budget, people=people,
                                       counted=counted)

    async def _store_share(self, form: ShareForm, valid: ValidShare, *, budget: float,
                           people: PeopleDirectory | None = None,
                           link_key: bytes | None = None, counted: bool = True) -> SecretRecord:
        """Check the format (and with `people`, that the recipients are people), count the
        share, encrypt and store it, within `budget` seconds."""
        now = self._clock()
        storing: SecretRecord | None = None
        try:
            async with asyncio.timeout(budget):
                limits = self._limits if counted else None
                text = await self._checked_text(form, valid, limits)
                refused = await people.not_people(form.recipients) if people else {}
                if refused:
                    raise ValidationFailed({"recipients": _refusal(refused)})
                # Counted once the share is valid (a format refusal was counted above),
                # so correcting the recipients costs nothing.
                if limits is not None:
                    await limits.take(Action.SHARE, team_id=form.team_id,
                                      user_id=form.sender_id)
                for _ in range(_CODE_ATTEMPTS):
                    record = _record(form, valid, now)
                    if link_key is not None:
                        record = replace(record,
                                         link_check=link_check(link_key, record.secret_id))
                    # The ciphertext is bound to the id, which holds the code: a taken
                    # code (odds 1 in 2^59 per secret stored) means encrypting again.
                    ciphertext = await self._encrypt(text, record.secret_id, valid.passphrase,
                                                     link_key)
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

    async def _checked_text(self, form: ShareForm, valid: ValidShare,
                            limits: RateLimits | None) -> str:
        """The text as it will be shown, once its format is checked. Someone at the share
        limit is refused before it is parsed, and a format refusal counts as a share:
        neither costs the bot more than a share would."""
        if valid.format is Format.TEXT:
            return valid.text
        if limits is not None:
            await limits.ensure_room(Action.SHARE, team_id=form.team_id,
                                     user_id=form.sender_id)
        try:
            return normalize(valid.format, valid.text)
        except FormatError as exc:
            if limits is not None:
                await limits.take(Action.SHARE, team_id=form.team_id,
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

    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None:
        """Remember where recipients' Reveal DMs are (channel, ts), to update them later."""
        await self._store.note_dms(secret_id, dms)

    async def _encrypt(self, text: str, record_id: str, passphrase: str | None,
                       link_key: bytes | None = None) -> bytes:
        def work() -> bytes:
            return crypto.encrypt(text.encode("utf-8"), record_id=record_id,
                                  keyring=self._keyring, passphrase=passphrase,
                                  link_key=link_key)
        if passphrase is None:
            return work()
        return await self._kdf(work)

    async def _kdf(self, work: Callable[[], T]) -> T:
        return await self._kdf_slots.run(work)

    async def reveal(self, *, secret_id: str, user_id: str, team_id: str, show: ShowSecret,
                     passphrase: str | None = None, channel: str | None = None,
                     attempt: str | None = None) -> RevealResult:
        """Show a secret to a recipient with a view left (RevealService.reveal)."""
        return await self._reveals.reveal(secret_id=secret_id, user_id=user_id,
                                          team_id=team_id, show=show, passphrase=passphrase,
                                          channel=channel, attempt=attempt)

    async def give_back(self, doubt: ClaimInDoubt) -> bool:
        """Give back a claim whose answer was lost (RevealService.give_back)."""
        return await self._reveals.give_back(doubt)


def _record(form: ShareForm, valid: ValidShare, now: float) -> SecretRecord:
    code = new_share_code()
    return SecretRecord(
        secret_id=new_secret_id(code), code=code, team_id=form.team_id,
        sender_id=form.sender_id, recipients=form.recipients, created_at=now,
        expires_at=now + valid.lifetime, origin_channel=form.origin_channel,
        label=valid.label, format=valid.format, view_limit=valid.view_limit,
        has_passphrase=valid.passphrase is not None, notify=form.notify,
        audience=form.audience, receipts_to=form.receipts_to)


def _refusal(refused: Mapping[str, str]) -> str:
    # Modal error texts are plain text (no mentions) and should stay short.
    shown = list(refused.values())[:5]
    more = len(refused) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more else "")
    return f"Only people can receive secrets. Remove {listed}."
