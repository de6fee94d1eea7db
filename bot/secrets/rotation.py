"""Key rotation: move every active secret to the key ring's first key, and tell which
key ids are still in use.

Safe while the bot serves: each secret is read, re-encrypted in memory and written back
by a compare-and-set (bot.storage.key_usage.REWRAP), which replaces the ciphertext only if
it is still the one read and the secret still active, keeping its TTL. A secret revealed
for the last time, revoked or expired meanwhile stays gone; one whose ciphertext a
concurrent run already replaced is read again. Nothing is kept between runs: a run
skips what is already under the first key, so an interrupted run is finished by running
it again.

Plaintext exists only inside `crypto.rewrap` for plain (v1) secrets; passphrase secrets
of the layered format (v3) have only their master-key layer replaced and are never
decrypted. Passphrase secrets of the older format (v2) cannot be re-encrypted without a
passphrase the bot never keeps: they are counted, with the time the last of them
expires, after which the old key can go.

A secret's metadata seal (bot.storage.secret_fields) is made with the same key as its
ciphertext and moves with it, in the same compare-and-set, after its old seal has been
checked: rotation never seals metadata that was changed in Redis. A secret whose seal
fails (changed, or stored before seals) is refused wherever it would be shown; it is
left as it is (under its old key, until it ends) and counted apart.

OAuth installations (workspace tokens, sealed with the same key ring and kept without
expiry) are re-encrypted too, by the same kind of compare-and-set: without that,
removing the old key would disconnect every workspace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot import crypto
from bot.domain import code_of
from bot.errors import InvalidToken, NeedsPassphrase
from bot.storage.key_usage import StoredToken
from bot.storage.secret_fields import intact, seal_of

PAGE = 200
CHANGED_RETRIES = 3

# Why a secret was left under its old key (the report's wording, keyed by reason).
OLD_FORMAT = "passphrase in the older format (needs its passphrase to move; waits to end)"
KEY_MISSING = "its key is not in ENCRYPTION_KEYS (cannot be decrypted)"
DAMAGED = "damaged ciphertext (cannot be decrypted)"
BUSY = "kept changing during the run (run again)"


class KeyUsageStore(Protocol):
    """What rotation needs from storage (see bot.storage.key_usage.RedisKeyUsage)."""

    async def page(self, cursor: int, *, count: int) -> tuple[int, list[StoredToken]]: ...
    async def read(self, handles: list[str]) -> list[StoredToken]: ...
    async def replace(self, secret_id: str, *, old: bytes, new: bytes, old_seal: str,
                      new_seal: str) -> str: ...
    async def sealed_values(self) -> list[tuple[str, bytes]]: ...
    async def sealed_value(self, key: str) -> bytes | None: ...
    async def replace_value(self, key: str, *, old: bytes, new: bytes) -> str: ...
    async def seal_unsealed(self, secret_id: str, *, seal: str) -> str: ...


@dataclass
class RotationReport:
    """Counts of a rotation run so far. `skipped` maps a reason to how many."""

    target: str
    scanned: int = 0
    rotated: int = 0
    current: int = 0
    ended: int = 0  # burned, revoked or expired before (or while) it was reached
    refused: int = 0  # its metadata seal fails: never sealed again, left under its old key
    skipped: Counter[str] = field(default_factory=Counter)
    last_old_format_expiry: float | None = None
    installations: Counter[str] = field(default_factory=Counter)  # outcome -> how many

    @property
    def complete(self) -> bool:
        """Whether nothing active is left under another key."""
        return not self.skipped and not self.refused and not any(
            outcome not in {"rotated", "current", "ended"} for outcome in self.installations)


@dataclass
class KeyUsage:
    """Active secrets by key id (and how many of them are older-format passphrase ones)."""

    by_key: Counter[str] = field(default_factory=Counter)
    old_format: Counter[str] = field(default_factory=Counter)
    last_expiry: dict[str, float] = field(default_factory=dict)
    unreadable: int = 0  # ciphertexts whose header cannot be read
    unsealed: int = 0  # no seal at all: stored before seals (`keys seal`, once), or its
    #                    seal was deleted in Redis; counted in `refused` too
    refused: int = 0  # metadata seal fails (counted only when a key ring is given; they
    #                   are counted by key id too: they stay under their key until they end)
    installations: Counter[str] = field(default_factory=Counter)  # OAuth, by key id


@dataclass
class SealReport:
    """Counts of a `keys seal` run: secrets stored before seals, sealed as they stand, and
    the share codes of those it sealed (for the operator to look over)."""

    scanned: int = 0
    sealed: int = 0
    had_seal: int = 0
    ended: int = 0
    codes: list[str] = field(default_factory=list)


Progress = Callable[[RotationReport], None]


async def rotate(store: KeyUsageStore, keyring: crypto.KeyRing, *,
                 progress: Progress | None = None, page: int = PAGE) -> RotationReport:
    """Re-encrypt every active secret not yet under the ring's first key."""
    report = RotationReport(target=keyring.encryption_key().key_id)
    cursor = 0
    while True:
        cursor, stored = await store.page(cursor, count=page)
        for item in stored:
            await _rotate_one(store, keyring, item, report)
        if progress is not None and stored:
            progress(report)
        if cursor == 0:
            break
    for key, value in await store.sealed_values():
        await _rotate_value(store, keyring, key, value, report)
    return report


async def _rotate_one(store: KeyUsageStore, keyring: crypto.KeyRing, item: StoredToken,
                      report: RotationReport) -> None:
    report.scanned += 1
    for _ in range(CHANGED_RETRIES):
        if item.token is None or item.secret_id is None or not item.active:
            report.ended += 1
            return
        try:
            if crypto.key_id_of(item.token) == report.target:
                report.current += 1
                return
            if _refused(item, keyring):
                report.refused += 1
                return
            new = crypto.rewrap(item.token, record_id=item.secret_id, keyring=keyring)
            if not intact(item.meta, keyring):  # its seal names a key the ring lacks
                report.refused += 1
                return
        except NeedsPassphrase:
            report.skipped[OLD_FORMAT] += 1
            if item.expires_at is not None:
                report.last_old_format_expiry = max(report.last_old_format_expiry or 0,
                                                    item.expires_at)
            return
        except InvalidToken:
            report.skipped[_why_unreadable(item.token, keyring)] += 1
            return
        outcome = await store.replace(item.secret_id, old=item.token, new=new,
                                      old_seal=item.seal, new_seal=seal_of(item.meta, keyring))
        if outcome == "rotated":
            report.rotated += 1
            return
        if outcome == "ended":
            report.ended += 1
            return
        # "changed": another run replaced it meanwhile; look again.
        item = (await store.read([item.handle]))[0]
    report.skipped[BUSY] += 1


async def _rotate_value(store: KeyUsageStore, keyring: crypto.KeyRing, key: str,
                        value: bytes | None, report: RotationReport) -> None:
    for _ in range(CHANGED_RETRIES):
        if value is None:
            report.installations["ended"] += 1
            return
        try:
            if crypto.key_id_of(value) == report.target:
                report.installations["current"] += 1
                return
            new = crypto.rewrap(value, record_id=key, keyring=keyring)
        except (InvalidToken, NeedsPassphrase):
            report.installations[_why_unreadable(value, keyring)] += 1
            return
        outcome = await store.replace_value(key, old=value, new=new)
        if outcome != "changed":
            report.installations[outcome] += 1
            return
        value = await store.sealed_value(key)  # saved again meanwhile (a reinstall)
    report.installations[BUSY] += 1


async def seal_unsealed(store: KeyUsageStore, keyring: crypto.KeyRing, *,
                        page: int = PAGE) -> SealReport:
    """Seal, under the ring's first key, every active secret stored before seals existed
    (it has no seal field at all), trusting its metadata as it is now. Meant to run once,
    when upgrading: it vouches for what Redis holds at that moment. A secret with a seal,
    good or failing, is never touched."""
    report = SealReport()
    cursor = 0
    while True:
        cursor, stored = await store.page(cursor, count=page)
        for item in stored:
            report.scanned += 1
            if item.secret_id is None or not item.active:
                report.ended += 1
            elif item.seal:
                report.had_seal += 1
            else:
                outcome = await store.seal_unsealed(item.secret_id,
                                                    seal=seal_of(item.meta, keyring))
                if outcome == "sealed":
                    report.sealed += 1
                    report.codes.append(code_of(item.secret_id))
                elif outcome == "has_seal":
                    report.had_seal += 1
                else:
                    report.ended += 1
        if cursor == 0:
            return report


def _refused(item: StoredToken, keyring: crypto.KeyRing) -> bool:
    """Whether the seal fails for a reason of its own: missing, malformed, or wrong under a
    key the ring holds (a key missing from the ring is reported as such)."""
    key_id = crypto.seal.key_id_of(item.seal)
    return (key_id is None or keyring.key(key_id) is not None) and not intact(item.meta,
                                                                            keyring)


def _why_unreadable(token: bytes, keyring: crypto.KeyRing) -> str:
    try:
        return KEY_MISSING if keyring.key(crypto.key_id_of(token)) is None else DAMAGED
    except InvalidToken:
        return DAMAGED


async def usage(store: KeyUsageStore, *, page: int = PAGE,
                keyring: crypto.KeyRing | None = None) -> KeyUsage:
    """Which key ids the active secrets are under (reads headers only; decrypts nothing).
    With a key ring, also how many fail their metadata seal (they are refused)."""
    found = KeyUsage()
    cursor = 0
    while True:
        cursor, stored = await store.page(cursor, count=page)
        for item in stored:
            if item.token is None or not item.active:
                continue
            if keyring is not None and _refused(item, keyring):
                found.refused += 1
                found.unsealed += not item.seal
            try:
                key_id = crypto.key_id_of(item.token)
                old_format = crypto.version_of(item.token) == 2
            except InvalidToken:
                found.unreadable += 1
                continue
            found.by_key[key_id] += 1
            if old_format:
                found.old_format[key_id] += 1
            if item.expires_at is not None:
                found.last_expiry[key_id] = max(found.last_expiry.get(key_id, 0),
                                                item.expires_at)
        if cursor == 0:
            break
    for _, value in await store.sealed_values():
        try:
            found.installations[crypto.key_id_of(value)] += 1
        except InvalidToken:
            found.unreadable += 1
    return found
