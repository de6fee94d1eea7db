"""The service behind the web page (bot.secrets.external.ExternalReveals): what the inert
page may show, mailing a one-time code to an email recipient, and revealing a secret for
the link's key.

A reveal is the Slack flow's (claim, decrypt, mark as shown, confirm: bot.secrets.reveal)
for a principal instead of a Slack user: the link's holder, or an email recipient who has
just typed the code mailed to them. Limits count per client IP and per secret, in Redis,
so every replica shares them. Each step is audited with the client's IP and user agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Callable

from bot.audit.log import AuditLog
from bot.crypto import KeyRing
from bot.domain import (
    LINK_PRINCIPAL,
    WEB_VISITOR,
    Audience,
    AuditAction,
    RevealOutcome,
    SecretRecord,
    Status,
    email_principal,
    is_secret_id,
    masked_address,
)
from bot.errors import ClaimInDoubt, StorageUnavailable
from bot.secrets.email_codes import EmailCodes, TakenCode
from bot.secrets.external import (
    CodeOutcome,
    CodeResult,
    PageInfo,
    WebClient,
    WebOutcome,
    WebRevealResult,
    decode_link_key,
    link_check,
)
from bot.secrets.external_form import parse_addresses
from bot.secrets.followups import Followup, Followups
from bot.secrets.link_reveal import LinkReveals
from bot.secrets.reveal import RevealResult, ShowSecret
from bot.secrets.sharing import SharingService
from bot.secrets.web_audit import WebAudit
from bot.secrets.web_parts import (
    WINDOW,
    CodeMail,
    Later,
    NameSource,
    Receipt,
    RecordStore,
    WebLimits,
    client_key,
    refused,
)
from bot.storage import Claim
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.web_codes import CodeCheck, RedisWebCodes

PAGE_AUDIT_SECONDS = 10 * 60  # "page opened" is audited at most once per secret per while
# Everyone with a link reveals as the one principal, whose view in flight (claimed, not yet
# confirmed: milliseconds, or a passphrase's check) refuses the next claim as a double
# click would. Another holder waits that long for their turn instead of being refused.
IN_TURN_SECONDS = 2.0
IN_TURN_PAUSE = 0.02


class WebRevealService:
    def __init__(self, *, sharing: SharingService, store: RecordStore, codes: RedisWebCodes,
                 counter: RedisRateCounter, names: NameSource, audit: AuditLog,
                 keyring: KeyRing, logger: logging.Logger, mail: CodeMail | None = None,
                 receipt: Receipt | None = None, limits: WebLimits | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._sharing = sharing
        self._store = store
        self._codes = codes
        self._counter = counter
        self._names = names
        self._receipt = receipt
        self._limits = limits or WebLimits()
        self._clock = clock
        self._later = Later(logger)
        self._web_audit = WebAudit(audit, clock=clock)
        self._email = EmailCodes(codes=codes, keyring=keyring, mail=mail, logger=logger,
                                 later=self._later)
        self._followups = Followups(audit=self._web_audit, views=store.link_views,
                                    later=self._later, logger=logger, clock=clock)
        self._links = LinkReveals(views=store.link_views, counter=counter, keyring=keyring,
                                  audit=self._web_audit, receipt=receipt, limits=self._limits,
                                  followups=self._followups, clock=clock)

    # -- the page --------------------------------------------------------------------------

    async def describe(self, secret_id: str, *, client: WebClient) -> PageInfo | None:
        record = await self._openable(secret_id)
        if record is None:
            return None
        page = await self._page(record)
        if await self._codes.first_page_view(record.secret_id, seconds=PAGE_AUDIT_SECONDS):
            await self._web_audit.record(self._web_audit.event(
                AuditAction.PAGE_OPENED, record, WEB_VISITOR, client))
        return page

    # -- codes -------------------------------------------------------------------------------

    async def request_code(self, secret_id: str, *, link_key: str, email: str,
                           client: WebClient) -> CodeResult:
        """Mail a code to `email` if it is listed (bot.secrets.email_codes): the answer is
        SENT either way, after the same work, and the mail goes out after it."""
        if not self._email.can_mail:
            return CodeResult(CodeOutcome.NO_MAIL)
        limited = await self._over("code-ip", client_key(client.ip), self._limits.codes_per_ip)
        if limited:
            return CodeResult(CodeOutcome.RATE_LIMITED, retry_after=limited)
        held = await self._holder_of(secret_id, link_key, client)
        if held is None or held[0].audience is not Audience.EMAIL:
            return CodeResult(CodeOutcome.GONE)
        record = held[0]
        addresses, problem = parse_addresses(email)
        if problem is not None or len(addresses) != 1:
            return CodeResult(CodeOutcome.SENT)
        address = addresses[0]
        who = self._email.who(record, address)
        # Per secret; per address and client (so that one client cannot keep an address
        # from asking); per address, a cap on the mail any number of clients can cause.
        limited = (await self._over("code-secret", record.secret_id,
                                    self._limits.codes_per_secret)
                   or await self._over("code-address", f"{who}:{client_key(client.ip)}",
                                       self._limits.codes_per_address)
                   or await self._over("code-mails", who, self._limits.mails_per_address))
        if limited:
            return CodeResult(CodeOutcome.RATE_LIMITED, retry_after=limited)
        listed, ticket = await self._email.request(record, address,
                                                   lambda: self._page(record))
        await self._web_audit.record(self._web_audit.event(
            AuditAction.CODE_SENT if listed else AuditAction.ACCESS_DENIED, record,
            WEB_VISITOR, client, f"to {masked_address(address)}" if listed else
            f"asked for a code for {masked_address(address)}, not on the list"))
        return CodeResult(CodeOutcome.SENT, ticket=ticket)

    # -- the reveal ----------------------------------------------------------------------------

    async def reveal(self, secret_id: str, *, link_key: str, client: WebClient,
                     email: str | None = None, code: str | None = None,
                     ticket: str | None = None,
                     passphrase: str | None = None) -> WebRevealResult:
        key = decode_link_key(link_key)
        if key is not None and is_secret_id(secret_id) and not (email or code or passphrase):
            # A link secret in one step (bot.secrets.link_reveal); None for the others.
            answer = await self._links.reveal(secret_id, key=key, client=client)
            if answer is not None:
                return answer
        limited = await self._over("web-reveal-ip", client_key(client.ip),
                                   self._limits.reveals_per_ip)
        if limited:
            return WebRevealResult(WebOutcome.RATE_LIMITED, retry_after=limited)
        held = await self._holder_of(secret_id, link_key, client)
        if held is None:
            return WebRevealResult(WebOutcome.GONE)
        record, key = held
        # Counted only for holders of the link: nobody else can use up its budget.
        limited = _seconds(await self._counter.attempt_on(
            self._store.link_views.secret_attempts(record.secret_id),
            limit=self._limits.reveals_per_secret, window_seconds=WINDOW, now=self._clock()))
        if limited:
            return WebRevealResult(WebOutcome.RATE_LIMITED, retry_after=limited)
        principal, used, refusal = await self._prove(record, client, email, code, ticket)
        if refusal is not None:
            return refusal
        shown: list[str] = []

        async def show(plaintext: str, claim: Claim) -> None:
            shown.append(plaintext)
        try:
            result = await self._reveal_in_turn(record, principal, show=show,
                                                passphrase=passphrase or None, key=key)
        except ClaimInDoubt as doubt:
            self._later(self._give_back(doubt))
            await self._put_back(record, used)
            return WebRevealResult(WebOutcome.BUSY, retry_after=5)
        except StorageUnavailable:
            await self._put_back(record, used)
            return WebRevealResult(WebOutcome.BUSY, retry_after=5)
        await self._web_audit.reveal(record, principal, client, result)
        if result.last_view:
            self._followups.add(Followup(events=(), burned=(
                record.secret_id, record.team_id, record.sender_id)))
        if result.outcome is not RevealOutcome.REVEALED:
            await self._put_back(record, used)
            return refused(result)
        if self._receipt is not None and record.notify:
            self._later(self._receipt(record, principal, client, result.last_view))
        return WebRevealResult(WebOutcome.REVEALED, text=shown[0] if shown else None,
                               format=record.format, last_view=result.last_view)

    async def _holder_of(self, secret_id: str, link_key: str,
                         client: WebClient) -> tuple[SecretRecord, bytes] | None:
        """The secret, if it can be opened and `link_key` is its link's key (checked
        before anything is counted or tried; a wrong one is audited)."""
        record = await self._openable(secret_id)
        if record is None:
            return None
        key = decode_link_key(link_key)
        if key is None or record.link_check is None or not hmac.compare_digest(
                link_check(key, record.secret_id), record.link_check):
            await self._web_audit.denied(record, WEB_VISITOR, client, "a wrong link key")
            return None
        return record, key

    async def _reveal_in_turn(self, record: SecretRecord, principal: str, *, show: ShowSecret,
                              passphrase: str | None, key: bytes) -> RevealResult:
        """The reveal; for a link secret, tried again while another holder's reveal is in
        flight (up to IN_TURN_SECONDS), so that concurrent holders get one view each while
        views are left, and "gone" once they are not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + IN_TURN_SECONDS
        while True:
            result = await self._sharing.web_reveals.reveal(
                secret_id=record.secret_id, user_id=principal, team_id=record.team_id,
                show=show, passphrase=passphrase, link_key=key)
            if result.outcome is not RevealOutcome.IN_FLIGHT or principal != LINK_PRINCIPAL \
                    or loop.time() >= deadline:
                return result
            await asyncio.sleep(IN_TURN_PAUSE)

    async def _prove(self, record: SecretRecord, client: WebClient, email: str | None,
                     code: str | None, ticket: str | None
                     ) -> tuple[str, TakenCode | None, WebRevealResult | None]:
        """Who is asking: the link's holder, or an email recipient with a right code."""
        if record.audience is Audience.LINK:
            return LINK_PRINCIPAL, None, None
        addresses, problem = parse_addresses(email or "")
        typed = "".join(ch for ch in (code or "") if not ch.isspace())
        if problem is not None or len(addresses) != 1 or not typed or not ticket:
            return "", None, WebRevealResult(WebOutcome.CODE_NEEDED)
        address = addresses[0]
        used = await self._email.use(record, address, ticket, typed)
        if used.check is CodeCheck.OK:
            return email_principal(address), TakenCode(address, ticket, used), None
        await self._web_audit.denied(record, WEB_VISITOR, client, (
            "a wrong code" if used.check is CodeCheck.WRONG else
            "a used, expired or voided code") + f" for {masked_address(address)}")
        if used.check is CodeCheck.WRONG:
            return "", None, WebRevealResult(WebOutcome.WRONG_CODE, tries_left=used.tries_left)
        return "", None, WebRevealResult(WebOutcome.CODE_VOID)

    async def _put_back(self, record: SecretRecord,
                        taken: TakenCode | None) -> None:
        if taken is not None:
            await self._email.put_back(record, taken)

    async def _give_back(self, doubt: ClaimInDoubt) -> None:
        with contextlib.suppress(StorageUnavailable):
            await self._sharing.give_back(doubt)

    # -- helpers ---------------------------------------------------------------------------------

    async def _openable(self, secret_id: str) -> SecretRecord | None:
        """The secret, if the web page may offer it: external, active, unexpired, intact."""
        if not is_secret_id(secret_id):
            return None
        record = await self._store.get(secret_id)
        if (record is None or record.tampered or not record.audience.external
                or record.status is not Status.ACTIVE or record.expires_at <= self._clock()):
            return None
        return record

    async def _page(self, record: SecretRecord) -> PageInfo:
        sender, workspace = await self._names.sender_and_workspace(record.team_id,
                                                                   record.sender_id)
        return PageInfo(audience=record.audience, sender_name=sender,
                        workspace_name=workspace, label=record.label,
                        expires_at=record.expires_at, has_passphrase=record.has_passphrase)

    async def _over(self, action: str, who: str, limit: int) -> int:
        """0 when an attempt is allowed (and counted), else the seconds to wait."""
        return _seconds(await self._counter.attempt(action, team_id="web", user_id=who,
                                                    limit=limit, window_seconds=WINDOW,
                                                    now=self._clock()))

    async def settled(self) -> None:
        """Once the follow-ups of the reveals answered so far are done."""
        await self._followups.drained()

    async def close(self) -> None:
        """Let follow-ups, mails and receipts under way finish (at shutdown)."""
        await self._followups.drained()
        await self._later.close()


def _seconds(wait: float | None) -> int:
    return max(1, int(wait + 0.999)) if wait else 0
