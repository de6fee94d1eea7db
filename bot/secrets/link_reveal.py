"""The web page's reveal of a link secret without a passphrase: one Redis step
(bot.storage.link_views), one decryption, the answer. What follows from it (the audit
events, a burned secret leaving the expiry index and giving back its quota room, the
sender's receipt) is done after the answer: the step that took the view also owed its
audit events, so a process that dies first leaves them for the sweep, and the index and
the quota catch up at the secret's expiry time.

Email and passphrase secrets take the two-step path (bot.secrets.web_reveal), which
waits for a code or a passphrase's slow check between claiming a view and using it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot import crypto
from bot.audit import owed as audit_owed
from bot.domain import (
    LINK_PRINCIPAL,
    WEB_VISITOR,
    Audience,
    AuditAction,
    AuditEvent,
    RevealOutcome,
    SecretRecord,
    code_of,
)
from bot.errors import InvalidToken
from bot.secrets.external import WebClient, WebOutcome, WebRevealResult, link_check
from bot.secrets.followups import Followup, Followups
from bot.secrets.reveal import RevealResult
from bot.secrets.web_audit import WebAudit, external
from bot.secrets.web_parts import WINDOW, Receipt, WebLimits, client_key
from bot.storage.link_views import LinkViews, Taken, Took
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.secret_fields import record_from

UNREADABLE = "could not be decrypted; not used up"
DAMAGED = "could not be decrypted (its stored data is damaged); the view is used up"


class LinkReveals:
    """Link holders' reveals (the web page's service hands them here first)."""

    def __init__(self, *, views: LinkViews, counter: RedisRateCounter,
                 keyring: crypto.KeyRing, audit: WebAudit, receipt: Receipt | None,
                 limits: WebLimits, followups: Followups,
                 clock: Callable[[], float] = time.time) -> None:
        self._views = views
        self._counter = counter
        self._keyring = keyring
        self._audit = audit
        self._receipt = receipt
        self._limits = limits
        self._followups = followups
        self._clock = clock
        self._key_ids = keyring.key_ids

    async def reveal(self, secret_id: str, *, key: bytes,
                     client: WebClient) -> WebRevealResult | None:
        """Reveal a link secret to the holder of `key`; None when it is an email or a
        passphrase secret (nothing counted: the two-step path answers)."""
        views, limits, now = self._views, self._limits, self._clock()
        who = client_key(client.ip)
        if not views.one_server:  # the client's window is in another slot: a step first
            wait = await self._counter.attempt_on(views.client_attempts(who),
                                                  limit=limits.reveals_per_ip,
                                                  window_seconds=WINDOW, now=now)
            if wait:
                return _limited(wait * 1000)
        check = link_check(key, secret_id)
        taken = await views.take(
            secret_id, check=check, principal=LINK_PRINCIPAL, client=who, now=now,
            window_seconds=WINDOW, per_client=limits.reveals_per_ip,
            per_secret=limits.reveals_per_secret, key_ids=self._key_ids)
        took = taken.took
        if took is Took.TAKEN:
            return self._open(secret_id, key, check, taken, client)
        if took is Took.OTHER:
            return None
        if took is Took.LIMITED:
            return _limited(taken.wait_ms)
        if took is Took.IN_FLIGHT:
            return WebRevealResult(WebOutcome.OPENING, retry_after=2)
        if took is Took.WRONG_KEY:
            await self._audit.record(self._event(
                AuditAction.ACCESS_DENIED, secret_id, taken.team_id, WEB_VISITOR, client,
                "a wrong link key"))
        elif took is Took.KEY_UNKNOWN:
            await self._audit.record(self._event(
                AuditAction.REVEAL_FAILED, secret_id, taken.team_id, LINK_PRINCIPAL, client,
                UNREADABLE))
        return WebRevealResult(WebOutcome.GONE)

    def _open(self, secret_id: str, key: bytes, check: str, taken: Taken,
              client: WebClient) -> WebRevealResult:
        """The view is used: decrypt it, and leave the rest for after the answer."""
        try:
            record: SecretRecord | None = record_from(taken.fields, self._keyring)
        except (KeyError, ValueError):
            record = None
        if (record is None or record.tampered or record.secret_id != secret_id
                or record.link_check != check or record.audience is not Audience.LINK
                or record.has_passphrase):
            # Changed in Redis since it was sealed: nothing is shown, and the view it
            # took stays used (a record nobody can trust is better gone).
            self._followups.add(self._failed(secret_id, taken, client, audit_owed.TAMPERED))
            return WebRevealResult(WebOutcome.GONE)
        try:
            text = crypto.decrypt(taken.token, record_id=secret_id, keyring=self._keyring,
                                  link_key=key).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            self._followups.add(
                self._failed(secret_id, taken, client, DAMAGED, record.team_id))
            return WebRevealResult(WebOutcome.GONE)
        self._followups.add(self._shown(record, taken, client))
        return WebRevealResult(WebOutcome.REVEALED, text=text, format=record.format,
                               last_view=taken.burned)

    def _shown(self, record: SecretRecord, taken: Taken, client: WebClient) -> Followup:
        """What follows an answer with the secret: the events the step owed, a burned
        secret's index entry and quota room, and the sender's receipt."""
        return Followup(
            events=tuple(self._audit.reveal_events(record, LINK_PRINCIPAL, client, RevealResult(
                RevealOutcome.REVEALED, code=record.code, views_used=taken.used,
                last_view=taken.burned))),
            burned=(record.secret_id, record.team_id, record.sender_id)
            if taken.burned else None,
            receipt=self._receipt(record, LINK_PRINCIPAL, client, taken.burned)
            if self._receipt is not None and record.notify else None)

    def _failed(self, secret_id: str, taken: Taken, client: WebClient, detail: str,
                team_id: str | None = None) -> Followup:
        """The step owed "opened" (and "burned"): settled with what really happened."""
        team = team_id or (taken.fields.get(b"team") or b"").decode(errors="replace")
        owed = [(self._event(AuditAction.REVEAL_FAILED, secret_id, team, LINK_PRINCIPAL,
                             client, detail), audit_owed.opened_nonce(secret_id, taken.used))]
        if taken.burned:
            owed.append((self._event(AuditAction.SECRET_BURNED, secret_id, team,
                                     LINK_PRINCIPAL, client, audit_owed.BURNED),
                         audit_owed.burned_nonce(secret_id)))
        sender = (taken.fields.get(b"from") or b"").decode(errors="replace")
        return Followup(events=tuple(owed),
                        burned=(secret_id, team, sender) if taken.burned and team else None)

    def _event(self, action: AuditAction, secret_id: str, team_id: str, actor: str,
               client: WebClient, detail: str) -> AuditEvent:
        return external(AuditEvent(action, at=self._clock(), actor=actor, team_id=team_id,
                                   code=code_of(secret_id), secret_id=secret_id,
                                   detail=detail), client)


def _limited(wait_ms: float) -> WebRevealResult:
    return WebRevealResult(WebOutcome.RATE_LIMITED,
                           retry_after=max(1, math.ceil(wait_ms / 1000)))
