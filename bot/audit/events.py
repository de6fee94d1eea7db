"""Every audit event, worded in one place: a function named for what happened.

Each takes the time it happened (`at`, from the caller's clock) and returns the event, or,
for an event a change owes, the event with its nonce (`Named`): the name under which the
Lua script that made the change noted it (bot.audit.owed), so that it is recorded once
however many processes try. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from bot import render
from bot.audit import owed as audit_owed
from bot.audit.owed import OwedEvent
from bot.domain import (
    AuditAction,
    AuditEvent,
    RevealOutcome,
    SecretRecord,
    StaleOutcome,
    code_of,
)
from bot.errors import RateLimited
from bot.options import duration_label
from bot.secrets.limits import duration
from bot.storage.team_settings import PolicyOverrides

if TYPE_CHECKING:
    from bot.api.tokens import ApiToken
    from bot.secrets.reveal import RevealResult


class Named(NamedTuple):
    """An event with the nonce it is recorded under."""

    event: AuditEvent
    nonce: str


def event(action: AuditAction, record: SecretRecord | None, *, at: float, actor: str,
          team_id: str, detail: str | None = None, channel: str | None = None,
          code: str | None = None, secret_id: str | None = None) -> AuditEvent:
    """An event about `record` (or the secret `code` and `secret_id` name, or none)."""
    return AuditEvent(action, at=at, actor=actor, team_id=team_id,
                      code=record.code if record else code,
                      secret_id=record.secret_id if record else secret_id,
                      channel=channel, detail=detail)


def secret_created(record: SecretRecord) -> Named:
    """A secret was stored: who shared it with whom, until when, with which options."""
    notes = [record.view_limit.describe(len(record.recipients))]
    if record.has_passphrase:
        notes.append("passphrase")
    if record.label:
        notes.append(f"label: {record.label[:60]}")
    return Named(AuditEvent(
        AuditAction.SECRET_CREATED, at=record.created_at, actor=record.sender_id,
        team_id=record.team_id, code=record.code, secret_id=record.secret_id,
        recipients=record.recipients, channel=record.origin_channel,
        expires_at=record.expires_at, detail=", ".join(notes)),
        audit_owed.created_nonce(record.secret_id))


def secret_revoked(record: SecretRecord, *, at: float, actor: str, by_admin: bool = False,
                   in_flight: int = 0) -> Named:
    """A secret was revoked, by its sender or an admin (`in_flight`: views being shown)."""
    action = AuditAction.SECRET_REVOKED_ADMIN if by_admin else AuditAction.SECRET_REVOKED
    detail = "a view was in progress at that moment" if in_flight else None
    revoked = event(action, record, at=at, actor=actor, team_id=record.team_id, detail=detail)
    return Named(dataclasses.replace(revoked, recipients=record.recipients),
                 audit_owed.ended_nonce(record.secret_id))


def secret_expired(record: SecretRecord, *, at: float) -> Named:
    """A secret expired, read by some, all or none of its recipients."""
    unread = [u for u in record.recipients if u not in record.viewed_at]
    detail = "unread" if len(unread) == len(record.recipients) else \
        f"viewed by {len(record.recipients) - len(unread)} of {len(record.recipients)}"
    expired = event(AuditAction.SECRET_EXPIRED, record, at=at, actor=record.sender_id,
                    team_id=record.team_id, detail=detail)
    return Named(dataclasses.replace(expired, recipients=record.recipients),
                 audit_owed.ended_nonce(record.secret_id))


def reveal_attempt(result: RevealResult, *, secret_id: str, user_id: str, team_id: str,
                   channel: str | None, at: float) -> list[tuple[AuditEvent, str | None]]:
    """What a reveal attempt owes the audit log, each event with its nonce (None: not
    owed by a change). A view confirmed elsewhere (an earlier try, the sweep) owes
    nothing here: it is recorded where it was settled."""
    def about(action: AuditAction, detail: str | None = None) -> AuditEvent:
        return AuditEvent(action, at=at, actor=user_id, team_id=team_id, code=result.code,
                          secret_id=secret_id if result.code else None, channel=channel,
                          detail=detail)

    outcome = result.outcome
    if outcome is RevealOutcome.REVEALED:
        if not result.confirmed:
            return []
        opened = about(AuditAction.SECRET_OPENED,
                       audit_owed.UNCONFIRMED if result.uncertain else None)
        owed: list[tuple[AuditEvent, str | None]] = [
            (opened, audit_owed.opened_nonce(secret_id, result.views_used))]
        if result.last_view:
            owed.append((about(AuditAction.SECRET_BURNED, audit_owed.BURNED),
                         audit_owed.burned_nonce(secret_id)))
        return owed
    if outcome is RevealOutcome.RATE_LIMITED and result.limited is not None:
        return [(rate_limited(result.limited, at=at, actor=user_id, team_id=team_id,
                              channel=channel), None)]
    if outcome is RevealOutcome.LOCKED and result.tries_left == 0:
        return [(about(AuditAction.PASSPHRASE_LOCKED,
                       f"locked for {max(1, result.locked_seconds // 60)} minutes"), None)]
    refused = {
        RevealOutcome.NOT_RECIPIENT: (AuditAction.ACCESS_DENIED, "not a recipient"),
        RevealOutcome.WRONG_TEAM: (AuditAction.ACCESS_DENIED, "from another workspace"),
        RevealOutcome.FAILED: (AuditAction.REVEAL_FAILED,
                               "could not be decrypted; not used up"),
        RevealOutcome.TAMPERED: (AuditAction.REVEAL_FAILED, audit_owed.TAMPERED),
        RevealOutcome.WRONG_PASSPHRASE: (AuditAction.PASSPHRASE_FAILED,
                                         f"{result.tries_left} tries left"),
    }.get(outcome)
    return [] if refused is None else [(about(*refused), None)]


def claim_given_back(record: SecretRecord | None, *, secret_id: str, user_id: str,
                     team_id: str, channel: str | None, claimed_at: float,
                     at: float) -> Named:
    """A view claimed while Redis did not answer was given back once it did (`record`:
    the secret, None once gone)."""
    given_back = AuditEvent(
        AuditAction.REVEAL_FAILED, at=at, actor=user_id, team_id=team_id,
        code=record.code if record else None, secret_id=secret_id if record else None,
        channel=channel, detail=audit_owed.GIVEN_BACK_IN_OUTAGE)
    return Named(given_back, audit_owed.returned_nonce(secret_id, user_id, int(claimed_at)))


def stale_claim(record: SecretRecord, *, user_id: str, outcome: StaleOutcome,
                nonces: tuple[str, ...], at: float) -> list[Named]:
    """A view whose process stopped before confirming it, as the sweep settled it:
    given back (RETURNED), or counted as used (VIEWED, or BURNED for the last view).
    `nonces`: those the settling step named, in this order."""
    def about(action: AuditAction, detail: str) -> AuditEvent:
        return event(action, record, at=at, actor=user_id, team_id=record.team_id,
                     detail=detail)

    if outcome is StaleOutcome.RETURNED:
        return [Named(about(AuditAction.REVEAL_FAILED, audit_owed.GIVEN_BACK_STALE), nonces[0])]
    settled = [Named(about(AuditAction.SECRET_OPENED, audit_owed.SHOWN_WHEN_STOPPED),
                     nonces[0])]
    if outcome is StaleOutcome.BURNED:
        settled.append(Named(about(AuditAction.SECRET_BURNED, audit_owed.BURNED), nonces[1]))
    return settled


def delivery_refused(record: SecretRecord, *, at: float) -> AuditEvent:
    """A stopped process's Reveal messages were not sent again: the secret's metadata
    failed its integrity check."""
    return event(AuditAction.REVEAL_FAILED, record, at=at, actor=record.sender_id,
                 team_id=record.team_id, detail=audit_owed.TAMPERED_DELIVERY)


def from_owed(owed: OwedEvent, record: SecretRecord | None) -> Named:
    """An event a change owed (bot.storage.owed), worded as the process that made the
    change would have: for the sweep, when that process stopped first."""
    if record is not None and owed.action is AuditAction.SECRET_CREATED:
        return Named(secret_created(record).event, owed.nonce)
    if record is not None and owed.action is AuditAction.SECRET_EXPIRED:
        return Named(secret_expired(record, at=owed.at).event, owed.nonce)
    if record is not None and owed.action in (AuditAction.SECRET_REVOKED,
                                              AuditAction.SECRET_REVOKED_ADMIN):
        revoked = secret_revoked(record, at=owed.at, actor=owed.actor, in_flight=owed.in_flight,
                                 by_admin=owed.action is AuditAction.SECRET_REVOKED_ADMIN)
        return Named(revoked.event, owed.nonce)
    detail = owed.detail or (audit_owed.BURNED if owed.action is AuditAction.SECRET_BURNED
                             else None)
    return Named(AuditEvent(owed.action, at=owed.at, actor=owed.actor,
                            team_id=record.team_id if record else owed.team_id or "",
                            code=code_of(owed.handle), secret_id=owed.secret_id,
                            channel=owed.channel, detail=detail), owed.nonce)


def rate_limited(limited: RateLimited, *, at: float, actor: str, team_id: str,
                 channel: str | None = None) -> AuditEvent:
    """An attempt refused by a rate limit: which limit, and how long the person waits."""
    return AuditEvent(AuditAction.RATE_LIMITED, at=at, actor=actor, team_id=team_id,
                      channel=channel, detail=render.limited_detail(limited))


def refusals_merged(*, team_id: str, user_id: str, merged: int, window: int,
                    window_seconds: int, at: float) -> Named:
    """How many of a person's refusals in one window were counted, not audited one by one
    (`window`: its number, counted in windows of `window_seconds` since the epoch)."""
    detail = (f"{merged} more refusal{'s' if merged != 1 else ''} in the last "
              f"{duration(window_seconds)}, not listed one by one")
    return Named(AuditEvent(AuditAction.REFUSALS_MERGED, at=at, actor=user_id,
                            team_id=team_id, detail=detail),
                 f"refusals:{team_id}:{user_id}:{window}")


def access_denied(*, at: float, actor: str, team_id: str, why: str,
                  secret_id: str | None = None) -> AuditEvent:
    """Someone tried what they may not (`why`: what it was, e.g. "admin command by a
    non-admin"); with the secret it was about, when it names one."""
    return AuditEvent(AuditAction.ACCESS_DENIED, at=at, actor=actor, team_id=team_id,
                      secret_id=secret_id, detail=why)


def admin_viewed(*, at: float, actor: str, team_id: str, what: str,
                 code: str | None = None) -> AuditEvent:
    """An admin looked at secrets' metadata or the audit log (`what` they looked at)."""
    return AuditEvent(AuditAction.ADMIN_VIEWED, at=at, actor=actor, team_id=team_id,
                      code=code, detail=what)


def settings_changed(*, at: float, actor: str, team_id: str, what: str,
                     channel: str | None = None) -> AuditEvent:
    """A workspace's share-secret settings changed (admins, audit channel, an install, the
    external sharing policy)."""
    return AuditEvent(AuditAction.SETTINGS_CHANGED, at=at, actor=actor, team_id=team_id,
                      channel=channel, detail=what)


def policy_changed(change: PolicyOverrides, *, at: float, actor: str,
                   team_id: str) -> AuditEvent:
    """An admin changed the workspace's external sharing policy (`change`: what was set)."""
    parts = []
    if change.enabled is not None:
        parts.append(f"sharing outside Slack {'on' if change.enabled else 'off'}")
    if change.allowed_domains is not None:
        parts.append("email domains: " + (", ".join(change.allowed_domains) or "any"))
    if change.link_needs_passphrase is not None:
        parts.append("link secrets " + ("need" if change.link_needs_passphrase
                                        else "do not need") + " a passphrase")
    if change.max_expiry_seconds is not None:
        parts.append("longest expiry of external secrets: " + (
            duration_label(change.max_expiry_seconds) if change.max_expiry_seconds
            else "no cap of its own"))
    return settings_changed(at=at, actor=actor, team_id=team_id,
                            what="external sharing policy: " + "; ".join(parts))


def secret_requested(*, at: float, actor: str, team_id: str, asked: str,
                     delivered: bool = True) -> AuditEvent:
    """Someone asked a person (`asked`) for a secret; `delivered`: whether the ask arrived."""
    return AuditEvent(AuditAction.SECRET_REQUESTED, at=at, actor=actor, team_id=team_id,
                      recipients=(asked,),
                      detail=None if delivered else "the request could not be delivered")


def api_token_created(token: ApiToken, *, at: float, actor: str) -> AuditEvent:
    """An admin (or the operator at the command line) created an API token: its name, id
    and where its receipts go; never the token."""
    receipts = f"; receipts to {token.receipts_to}" if token.receipts_to else ""
    return AuditEvent(AuditAction.API_TOKEN_CREATED, at=at, actor=actor,
                      team_id=token.team_id, detail=f"{token.name}, id {token.token_id}"
                      f"{receipts}")


def api_token_revoked(token: ApiToken, *, at: float, actor: str,
                      never_shown: bool = False, uninstalled: bool = False) -> AuditEvent:
    """An API token was revoked: by an admin or at the command line, at once because
    Slack could not show it to the admin who created it (`never_shown`), or with every
    other token of a workspace that removed the app (`uninstalled`)."""
    why = "; Slack could not show it, so it was revoked at once" if never_shown else \
        "; the app was removed from the workspace" if uninstalled else ""
    return AuditEvent(AuditAction.API_TOKEN_REVOKED, at=at, actor=actor,
                      team_id=token.team_id, detail=f"{token.name}, id {token.token_id}{why}")
