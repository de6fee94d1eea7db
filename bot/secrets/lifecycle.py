"""A secret's life after it is shared: revoke, look up, list, expire, remind.

Like `sharing`, this knows nothing of Slack. Sweeps are safe to run in several
processes at once: each secret is ended by an atomic status change in Redis, so
exactly one process learns that it was the one that expired it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.audit import owed as audit_owed
from bot.audit.owed import OwedEvent
from bot.domain import (
    AuditAction,
    EndOutcome,
    SecretRecord,
    StaleOutcome,
    Status,
    normalize_share_code,
)

SWEEP_BATCH = 1000
# A reveal confirms its view, and a share sends its Reveal messages, within seconds; work
# unfinished for longer was started by a process that died, and the sweep takes it over.
CLAIM_TIMEOUT_SECONDS = 120
# Remind a sender of an unread secret an hour before it expires, if it lived long enough
# for a reminder to be news.
REMINDER_BEFORE_SECONDS = 3600
REMINDER_MIN_LIFETIME = 2 * 3600
BROWSE_SCAN_LIMIT = 5000  # index entries an admin page may look through


def _matches(record: SecretRecord, status: str | None, sender_id: str | None) -> bool:
    if sender_id and record.sender_id != sender_id:
        return False
    if status == "active":
        return record.status is Status.ACTIVE
    if status == "ended":
        return record.status is not Status.ACTIVE
    return True


class LifecycleStore(Protocol):
    """What lifecycle needs from storage (see bot.storage.RedisSecretStore)."""

    async def get(self, secret_id: str) -> SecretRecord | None: ...
    async def get_many(self, secret_ids: list[str]) -> list[SecretRecord]: ...
    async def end(self, secret_id: str, *, status: Status, now: float,
                  actor: str | None = None,
                  action: AuditAction = AuditAction.SECRET_REVOKED) -> tuple[EndOutcome, int]: ...
    async def end_many(self, secret_ids: list[str], *, status: Status,
                       now: float) -> list[EndOutcome]: ...
    async def sent_by(self, team_id: str, user_id: str, *,
                      limit: int) -> list[SecretRecord]: ...
    async def due(self, *, now: float, limit: int) -> list[str]: ...
    async def drop(self, secret_ids: list[str]) -> int: ...
    async def in_team(self, team_id: str, *, start: int,
                      count: int) -> list[SecretRecord]: ...
    async def by_sender_page(self, team_id: str, user_id: str, *, start: int,
                             count: int) -> list[SecretRecord]: ...
    async def expiring(self, *, until: float) -> tuple[float | None, list[str]]: ...
    async def move_reminder_cursor(self, until: float) -> None: ...
    async def take_reminder(self, secret_id: str) -> bool: ...
    async def return_stale_claims(self, *, cutoff: float, now: float, limit: int,
                                  returned: str = "", shown: str = ""
                                  ) -> list[tuple[str, str, StaleOutcome, tuple[str, ...]]]: ...
    async def take_undelivered(self, *, cutoff: float, now: float,
                               limit: int) -> list[str]: ...
    async def delivered(self, secret_id: str,
                        dms: Mapping[str, tuple[str, str]] | None = None) -> None: ...
    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None: ...


class OwedStore(Protocol):
    """Audit events owed by changes (see bot.storage.owed.OwedEvents)."""

    async def take_due(self, *, cutoff: float, now: float,
                       limit: int) -> list[OwedEvent]: ...
    async def forget_settled(self, *, cutoff: float, limit: int) -> int: ...


@dataclass(frozen=True)
class Revocation:
    """The outcome of a revoke: the secret (None if not found) and its status before."""

    record: SecretRecord | None
    previous: EndOutcome = EndOutcome.UNKNOWN  # ENDED: this revoke ended it
    in_flight: int = 0  # views handed out at that moment: someone may be reading it

    @property
    def revoked(self) -> bool:
        return self.previous is EndOutcome.ENDED


class LifecycleService:
    """Operations on stored secrets by their sender, and the expiry sweeps."""

    def __init__(self, *, store: LifecycleStore,
                 clock: Callable[[], float] = time.time,
                 claim_timeout: float = CLAIM_TIMEOUT_SECONDS,
                 owed: OwedStore | None = None) -> None:
        self._store = store
        self._owed = owed
        self._clock = clock
        self._claim_timeout = claim_timeout

    async def record(self, secret_id: str) -> SecretRecord | None:
        """A secret's metadata by id, for the bot's own follow-ups (no ownership check)."""
        return await self._store.get(secret_id)

    async def find(self, *, team_id: str, user_id: str | None, secret_id: str | None = None,
                   code: str | None = None) -> SecretRecord | None:
        """A secret by id or typed code, if it belongs to this workspace and (unless
        `user_id` is None, for admins) to this sender; None otherwise, so that a guessed
        code tells nothing about whether it exists."""
        if code is not None:
            secret_id = normalize_share_code(code)  # a code finds its secret directly
        record = await self._store.get(secret_id) if secret_id else None
        if record is None or record.team_id != team_id or (
                user_id is not None and record.sender_id != user_id):
            return None
        return record

    async def revoke(self, *, team_id: str, user_id: str, secret_id: str | None = None,
                     code: str | None = None, as_admin: bool = False) -> Revocation:
        """Revoke a secret (the sender's own, or any in the workspace `as_admin`): the
        ciphertext is deleted at once."""
        record = await self.find(team_id=team_id, user_id=None if as_admin else user_id,
                                 secret_id=secret_id, code=code)
        if record is None:
            return Revocation(None)
        return await self.revoke_found(record, user_id=user_id, as_admin=as_admin)

    async def revoke_found(self, record: SecretRecord, *, user_id: str,
                           as_admin: bool = False) -> Revocation:
        """`revoke`, for a record the caller has found and checked already."""
        previous, in_flight = await self._store.end(
            record.secret_id, status=Status.REVOKED, now=self._clock(), actor=user_id,
            action=AuditAction.SECRET_REVOKED_ADMIN if as_admin else AuditAction.SECRET_REVOKED)
        if previous is EndOutcome.ENDED:
            await self._store.drop([record.secret_id])
        return Revocation(await self._store.get(record.secret_id) or record, previous,
                          in_flight if previous is EndOutcome.ENDED else 0)

    async def sent_by(self, *, team_id: str, user_id: str, limit: int = 200
                      ) -> list[SecretRecord]:
        return await self._store.sent_by(team_id, user_id, limit=limit)

    async def browse(self, *, team_id: str, status: str | None = None,
                     sender_id: str | None = None, page: int = 0,
                     page_size: int = 20) -> tuple[list[SecretRecord], bool]:
        """One page of a workspace's secrets for admins, newest first, filtered by status
        ("active" or "ended") and sender; and whether there is a next page."""
        wanted = page * page_size + page_size + 1
        found: list[SecretRecord] = []
        start = 0
        while len(found) < wanted and start < BROWSE_SCAN_LIMIT:
            # A chosen sender is read from their own index, so nothing of theirs is missed.
            chunk = await (self._store.by_sender_page(team_id, sender_id, start=start,
                                                      count=200) if sender_id
                           else self._store.in_team(team_id, start=start, count=200))
            if not chunk:
                break
            start += 200
            found += [r for r in chunk if _matches(r, status, sender_id)]
        shown = found[page * page_size:page * page_size + page_size]
        return shown, len(found) > (page + 1) * page_size

    async def sweep_expired(self, *, limit: int = SWEEP_BATCH) -> list[SecretRecord]:
        """Expire the secrets whose time has come; return those this call expired.

        Costs what expired (a range of a sorted index), not what is stored.
        """
        now = self._clock()
        due = await self._store.due(now=now, limit=limit)
        if not due:
            return []
        previous = await self._store.end_many(due, status=Status.EXPIRED, now=now)
        settled = [i for i, p in zip(due, previous, strict=True) if p is not EndOutcome.NOT_DUE]
        await self._store.drop(settled)
        return await self._store.get_many(
            [i for i, p in zip(due, previous, strict=True) if p is EndOutcome.ENDED])  # by handle

    async def return_stale_claims(self) -> list[tuple[SecretRecord, str, StaleOutcome,
                                                      tuple[str, ...]]]:
        """Settle views handed out more than the claim timeout ago and never confirmed:
        the process showing them died. (A live one confirms within seconds.) A view not
        yet sent to Slack comes back ("returned"); one Slack was asked to show counts as
        used ("viewed" or "burned"), since it may have been seen: never shown twice.
        Returns the secrets, the people, the outcome and the nonces of the audit events
        it owes."""
        settled = await self._store.return_stale_claims(
            cutoff=self._clock() - self._claim_timeout, now=self._clock(), limit=SWEEP_BATCH,
            returned=audit_owed.GIVEN_BACK_STALE, shown=audit_owed.SHOWN_WHEN_STOPPED)
        records = {r.secret_id[:12]: r for r in
                   await self._store.get_many([name for name, *_ in settled])}
        return [(records[name], user, outcome, nonces)
                for name, user, outcome, nonces in settled if name in records]

    async def owed_events(self) -> list[tuple[OwedEvent, SecretRecord | None]]:
        """Audit events owed for longer than the claim timeout (their process died before
        recording them), oldest first per secret, with their secrets (None once gone);
        each is taken by one caller."""
        if self._owed is None:
            return []
        owed = await self._owed.take_due(cutoff=self._clock() - self._claim_timeout,
                                         now=self._clock(), limit=SWEEP_BATCH)
        records = {r.secret_id[:12]: r for r in
                   await self._store.get_many(sorted({o.handle for o in owed}))}
        return [(o, records.get(o.handle)) for o in owed]

    async def forget_settled_owed(self) -> None:
        """Let the owed index forget secrets that owe nothing any more."""
        if self._owed is not None:
            await self._owed.forget_settled(cutoff=self._clock() - self._claim_timeout,
                                            limit=SWEEP_BATCH)

    async def undelivered(self) -> list[SecretRecord]:
        """Active secrets whose Reveal messages a process started sending more than the
        orphan timeout ago and never finished (it died): this caller sends them again.
        Some may be `tampered` (their seal failed): the caller refuses and audits those."""
        names = await self._store.take_undelivered(
            cutoff=self._clock() - self._claim_timeout, now=self._clock(), limit=SWEEP_BATCH)
        records = {r.secret_id[:12]: r for r in await self._store.get_many(names)}
        owed = []
        for name in names:
            record = records.get(name)
            if record is None or record.status is not Status.ACTIVE:
                await self._store.delivered(name)  # ended meanwhile: nothing to send
            else:
                owed.append(record)
        return owed

    async def delivered(self, record: SecretRecord,
                        dms: Mapping[str, tuple[str, str]]) -> None:
        """Delivery is done: remember where the Reveal DMs are, and owe nothing more."""
        await self._store.delivered(record.secret_id, dms)

    async def due_reminders(self) -> list[SecretRecord]:
        """Active, unread secrets whose sender should hear they expire within the hour.

        Read from the expiry index between a cursor and an hour from now, so a pass costs
        what entered the window since the last one. Each reminder is taken by setting a
        flag on the secret (HSETNX): of several processes, one sends it.
        """
        now = self._clock()
        until = now + REMINDER_BEFORE_SECONDS
        _, ids = await self._store.expiring(until=until)
        reminders = []
        for record in await self._store.get_many(ids):
            if record.status is Status.ACTIVE and record.views_used == 0 and record.notify \
                    and not record.tampered \
                    and record.expires_at - record.created_at >= REMINDER_MIN_LIFETIME \
                    and await self._store.take_reminder(record.secret_id):
                reminders.append(record)
        await self._store.move_reminder_cursor(until)
        return reminders
