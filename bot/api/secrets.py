"""What the API's endpoints do with secrets: create, describe, revoke, for one token.

The same services as the Slack flow (bot.secrets), so the same rules, quotas, audit and
receipts apply. A token acts for its workspace: it sees and revokes that workspace's
secrets (as an admin would: a secret it did not create is revoked as by an admin, and
the sender told), and nothing of another's (403).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot.api import answers
from bot.api.bodies import CreateSecret, invalid, share_form
from bot.api.problems import refusal
from bot.api.tokens import ApiToken
from bot.audit import events
from bot.audit.log import AuditLog
from bot.audit.soon import AuditSoon
from bot.background import Background, Lane
from bot.domain import (
    Audience,
    EndOutcome,
    SecretRecord,
    ShareForm,
    normalize_share_code,
)
from bot.errors import QuotaExceeded, ShareNotStored, SlackUnreachable, ValidationFailed
from bot.render import api as words
from bot.secrets.external import ExternalShare, link_url
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.sharing import SharingService
from bot.workspaces.policy import ExternalSharing

SLACK_RETRY_SECONDS = 5
# No Slack deadline here (the share form's 3 s): a passphrase's scrypt and Redis get longer.
# With the recipients' lookup, a create stays well inside an Idempotency-Key's pending
# time (bot.api.idempotency), so a retry is never taken for a new request.
BUDGET_SECONDS = 10.0
RESOLVE_SECONDS = 30.0


class SlackRecipients(Protocol):
    """Slack users named by id or email address, checked as people (bot.slack)."""

    async def resolve(self, team_id: str, entries: Sequence[str]) -> tuple[str, ...]:
        """Their user ids, each checked to be a person of the workspace (not a bot, not
        deactivated); ValidationFailed naming the entries that are not."""
        ...


class FollowUps(Protocol):
    """After a secret is stored: its Reveal messages and the sender's receipt; for an
    email audience, the link mailed when asked for."""

    async def delivered(self, record: SecretRecord) -> None: ...
    async def external(self, share: ExternalShare, *, mail: bool) -> None: ...
    async def revoked(self, record: SecretRecord, *, actor: str, by_admin: bool) -> None: ...


class ApiSecrets:
    def __init__(self, *, sharing: SharingService, lifecycle: LifecycleService,
                 audit: AuditLog, soon: AuditSoon, external: ExternalSharing | None,
                 recipients: SlackRecipients, follow_ups: FollowUps, background: Background,
                 in_doubt: Callable[[SecretRecord], None], mail: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self._sharing = sharing
        self._lifecycle = lifecycle
        self._audit = audit
        self._soon = soon
        self._external = external
        self._recipients = recipients
        self._follow_ups = follow_ups
        self._background = background
        self._in_doubt = in_doubt
        self._mail = mail
        self._clock = clock

    async def create(self, token: ApiToken, body: CreateSecret) -> dict[str, Any]:
        """Store a secret for the token's workspace; its answer (201's body)."""
        form = share_form(body, team_id=token.team_id, sender_id=token.principal,
                          receipts_to=token.receipts_to)
        # Room for its deliveries is reserved before anything is stored (as the share
        # form does): when they lag, the script is told to retry, not "created".
        slot = await self._background.reserve(Lane.FOLLOW_UP)
        if slot is None:
            raise refusal("unavailable", words.BUSY, retry_after=SLACK_RETRY_SECONDS)
        try:
            record, share, url = await self._store(token, body, form)
        except BaseException:
            slot.release()
            raise
        # Owed since the store's step (its script noted it): recorded after the answer,
        # with other requests' in one round trip.
        created = events.secret_created(record)
        self._soon.add(created.event, nonce=created.nonce)
        slot.start(self._follow_ups.delivered(record) if share is None
                   else self._follow_ups.external(share, mail=form.mail_link),
                   name="api-deliveries")
        return answers.created(record, url=url)

    async def _store(self, token: ApiToken, body: CreateSecret, form: ShareForm
                     ) -> tuple[SecretRecord, ExternalShare | None, str | None]:
        """Look up the recipients (within RESOLVE_SECONDS), check, encrypt and store."""
        try:
            if form.audience.external:
                share, url = await self._share_external(form)
                record = share.record
            else:
                try:
                    async with asyncio.timeout(RESOLVE_SECONDS):
                        recipients = await self._recipients.resolve(
                            token.team_id, body.audience.slack_users or ())
                except TimeoutError:
                    raise SlackUnreachable({"recipients": words.SLACK_SLOW}) from None
                record = await self._sharing.share(
                    replace(form, recipients=recipients), counted=False, people=None,
                    budget=BUDGET_SECONDS)
                share, url = None, None
        except SlackUnreachable:
            raise refusal("slack-unavailable", retry_after=SLACK_RETRY_SECONDS) from None
        except ValidationFailed as exc:  # a MissingScope too: the field says what to add
            raise invalid(exc.errors) from None
        except ShareNotStored as exc:
            # Answered 503 ("nothing was stored"): make sure of it once Redis is back.
            self._in_doubt(exc.record)
            raise
        except QuotaExceeded as exc:
            raise refusal("quota-exceeded", words.OVER_QUOTA.format(
                scope=exc.scope, limit=exc.limit)) from None
        return record, share, url

    async def _share_external(self, form: ShareForm) -> tuple[ExternalShare, str]:
        external = self._external
        if external is None or external.public_url is None:
            raise refusal("invalid-request", errors=[
                {"field": "audience", "detail": words.NO_WEB_PAGES}])
        if form.audience is Audience.EMAIL and form.mail_link and not self._mail:
            raise refusal("invalid-request", errors=[
                {"field": "audience.mail", "detail": words.NO_MAIL}])
        policy = await external.policy_for(form.team_id)
        share = await self._sharing.share_external(form, policy=policy, counted=False,
                                                   budget=BUDGET_SECONDS)
        return share, link_url(external.public_url, share.record.secret_id, share.link_key)

    async def close(self) -> None:
        """At shutdown: record the audit events still queued."""
        await self._soon.drained()

    async def status(self, token: ApiToken, code: str) -> dict[str, Any]:
        """What GET answers: the secret's metadata, never its content."""
        record = await self._own(token, code)
        if record.sender_id != token.principal:
            # As an admin's look at someone else's secret is.
            await self._audit.record(events.admin_viewed(
                at=self._clock(), actor=token.principal, team_id=token.team_id,
                code=record.code, what=f"status of {record.code}"))
        return answers.status(record)

    async def revoke(self, token: ApiToken, code: str) -> dict[str, Any]:
        """Revoke a secret of the token's workspace; its status after (DELETE's body)."""
        record = await self._own(token, code)
        by_admin = record.sender_id != token.principal
        revocation = await self._lifecycle.revoke_found(record, user_id=token.principal,
                                                        as_admin=by_admin)
        if revocation.previous is EndOutcome.UNKNOWN:  # gone since it was read
            raise refusal("not-found", words.NO_SUCH_SECRET)
        if not revocation.revoked:
            raise refusal("not-active",
                          words.ALREADY_ENDED.format(status=revocation.previous.value))
        ended = revocation.record or record
        revoked = events.secret_revoked(ended, at=self._clock(),
                                        actor=token.principal, by_admin=by_admin,
                                        in_flight=revocation.in_flight)
        self._soon.add(revoked.event, nonce=revoked.nonce)  # owed since the revoke's step
        self._background.later(self._follow_ups.revoked(
            ended, actor=token.principal, by_admin=by_admin), name="api-revoked")
        return answers.status(ended)

    async def _own(self, token: ApiToken, code: str) -> SecretRecord:
        """The secret a code names, if it is the token's workspace's: else not-found or
        forbidden."""
        handle = normalize_share_code(code)
        if handle is None:
            raise refusal("not-found", words.BAD_CODE)
        record = await self._lifecycle.record(handle.replace("-", ""))
        if record is None or record.tampered:
            raise refusal("not-found", words.NO_SUCH_SECRET)
        if record.team_id != token.team_id:
            raise refusal("forbidden")
        return record

