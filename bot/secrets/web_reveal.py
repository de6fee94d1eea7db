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
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.audit import events as audit_events
from bot.audit.log import AuditLog
from bot.crypto import KeyRing
from bot.domain import (
    LINK_PRINCIPAL,
    WEB_VISITOR,
    Audience,
    AuditAction,
    AuditEvent,
    RevealOutcome,
    SecretRecord,
    Status,
    email_principal,
    is_secret_id,
)
from bot.errors import ClaimInDoubt, StorageUnavailable
from bot.render.external import masked_address
from bot.secrets.external import (
    CodeOutcome,
    CodeResult,
    PageInfo,
    WebClient,
    WebOutcome,
    WebRevealResult,
    decode_link_key,
)
from bot.secrets.external_form import parse_addresses
from bot.secrets.reveal import RevealResult, ShowSecret
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import (
    WINDOW,
    CodeMail,
    NameSource,
    Receipt,
    RecordStore,
    WebLimits,
    keyed_digest,
    refused,
)
from bot.storage import Claim
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.web_codes import CodeCheck, RedisWebCodes, UsedCode

CODE_DIGITS = 8
CODE_SECONDS = 15 * 60
CODE_TRIES = 5  # wrong tries that void a code
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
        self._audit = audit
        self._keyring = keyring
        self._logger = logger
        self._mail = mail
        self._receipt = receipt
        self._limits = limits or WebLimits()
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the page --------------------------------------------------------------------------

    async def describe(self, secret_id: str, *, client: WebClient) -> PageInfo | None:
        record = await self._openable(secret_id)
        if record is None:
            return None
        page = await self._page(record)
        if await self._codes.first_page_view(secret_id, seconds=PAGE_AUDIT_SECONDS):
            await self._record(self._event(AuditAction.PAGE_OPENED, record, WEB_VISITOR,
                                           client))
        return page

    # -- codes -------------------------------------------------------------------------------

    async def request_code(self, secret_id: str, *, email: str,
                           client: WebClient) -> CodeResult:
        """The answer is SENT whether or not the address is listed, and the mail goes out
        off the request, so neither the answer nor its timing tells who is."""
        if self._mail is None:
            return CodeResult(CodeOutcome.NO_MAIL)
        limited = (await self._over("code-ip", client.ip, self._limits.codes_per_ip)
                   or await self._over("code-secret", secret_id[:12],
                                       self._limits.codes_per_secret))
        if limited:
            return CodeResult(CodeOutcome.RATE_LIMITED, retry_after=limited)
        record = await self._openable(secret_id)
        if record is None or record.audience is not Audience.EMAIL:
            return CodeResult(CodeOutcome.GONE)
        addresses, problem = parse_addresses(email)
        if problem is not None or len(addresses) != 1:
            return CodeResult(CodeOutcome.SENT)
        address = addresses[0]
        who = self._digest("address", secret_id, address)
        limited = await self._over("code-address", f"{secret_id[:12]}:{who}",
                                   self._limits.codes_per_address)
        if limited:
            return CodeResult(CodeOutcome.RATE_LIMITED, retry_after=limited)
        if email_principal(address) not in record.recipients:
            await self._record(self._event(AuditAction.ACCESS_DENIED, record, WEB_VISITOR,
                                           client, f"asked for a code for "
                                           f"{masked_address(address)}, not on the list"))
            return CodeResult(CodeOutcome.SENT)
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        await self._codes.issue(secret_id, who, seconds=CODE_SECONDS,
                                digest=self._digest("code", secret_id, address, code))
        await self._record(self._event(AuditAction.CODE_SENT, record, WEB_VISITOR, client,
                                       f"to {masked_address(address)}"))
        page = await self._page(record)
        self._later(self._mail_code(address, code, page))
        return CodeResult(CodeOutcome.SENT)

    async def _mail_code(self, address: str, code: str, page: PageInfo) -> None:
        assert self._mail is not None
        try:
            await self._mail.send_code(to=address, code=code, page=page)
        except Exception as exc:  # noqa: BLE001 - logged by kind; the person asks again
            self._logger.warning("a code mail could not be sent (%s)", type(exc).__name__)

    # -- the reveal ----------------------------------------------------------------------------

    async def reveal(self, secret_id: str, *, link_key: str, client: WebClient,
                     email: str | None = None, code: str | None = None,
                     passphrase: str | None = None) -> WebRevealResult:
        limited = (await self._over("web-reveal-ip", client.ip, self._limits.reveals_per_ip)
                   or await self._over("web-reveal-secret", secret_id[:12],
                                       self._limits.reveals_per_secret))
        if limited:
            return WebRevealResult(WebOutcome.RATE_LIMITED, retry_after=limited)
        record = await self._openable(secret_id)
        if record is None:
            return WebRevealResult(WebOutcome.GONE)
        key = decode_link_key(link_key)
        if key is None:
            await self._denied(record, WEB_VISITOR, client, "a wrong link key")
            return WebRevealResult(WebOutcome.GONE)
        principal, used, refusal = await self._prove(record, client, email, code)
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
            await self._put_back(record, principal, used)
            return WebRevealResult(WebOutcome.BUSY, retry_after=5)
        except StorageUnavailable:
            await self._put_back(record, principal, used)
            return WebRevealResult(WebOutcome.BUSY, retry_after=5)
        await self._audit_reveal(record, principal, client, result)
        if result.outcome is not RevealOutcome.REVEALED:
            await self._put_back(record, principal, used)
            return refused(result)
        if self._receipt is not None and record.notify:
            self._later(self._receipt(record, principal, client, result.last_view))
        return WebRevealResult(WebOutcome.REVEALED, text=shown[0] if shown else None,
                               format=record.format, last_view=result.last_view)

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
                     code: str | None) -> tuple[str, UsedCode | None, WebRevealResult | None]:
        """Who is asking: the link's holder, or an email recipient with a right code."""
        if record.audience is Audience.LINK:
            return LINK_PRINCIPAL, None, None
        addresses, problem = parse_addresses(email or "")
        typed = "".join(ch for ch in (code or "") if not ch.isspace())
        if problem is not None or len(addresses) != 1 or not typed:
            return "", None, WebRevealResult(WebOutcome.CODE_NEEDED)
        address = addresses[0]
        who = self._digest("address", record.secret_id, address)
        used = await self._codes.use(record.secret_id, who, max_tries=CODE_TRIES,
                                     digest=self._digest("code", record.secret_id, address,
                                                         typed))
        if used.check is CodeCheck.OK:
            return email_principal(address), used, None
        detail = (f"a wrong code for {masked_address(address)}" if used.check is
                  CodeCheck.WRONG else f"a used, expired or voided code for "
                                       f"{masked_address(address)}")
        await self._denied(record, WEB_VISITOR, client, detail)
        if used.check is CodeCheck.WRONG:
            return "", None, WebRevealResult(WebOutcome.WRONG_CODE, tries_left=used.tries_left)
        return "", None, WebRevealResult(WebOutcome.CODE_VOID)

    async def _put_back(self, record: SecretRecord, principal: str,
                        used: UsedCode | None) -> None:
        """A code taken for a reveal that used no view stays usable (a wrong passphrase
        must not cost a new mail)."""
        if used is None:
            return
        address = principal.partition(":")[2]
        with contextlib.suppress(StorageUnavailable):
            await self._codes.restore(record.secret_id,
                                      self._digest("address", record.secret_id, address), used)

    async def _give_back(self, doubt: ClaimInDoubt) -> None:
        with contextlib.suppress(StorageUnavailable):
            await self._sharing.give_back(doubt)

    async def _audit_reveal(self, record: SecretRecord, principal: str, client: WebClient,
                            result: RevealResult) -> None:
        if result.outcome is RevealOutcome.FAILED:
            # The outer layer opened (or the key ring lost its key): with the ring's key
            # known, a failure is the link's key.
            await self._denied(record, principal, client, "a wrong link key or damaged data")
            return
        owed = audit_events.reveal_attempt(
            result, secret_id=record.secret_id, user_id=principal, team_id=record.team_id,
            channel=None, at=self._clock())
        await self._audit.record_all([(self._external(event, client), nonce)
                                      for event, nonce in owed])

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
        wait = await self._counter.attempt(action, team_id="web", user_id=who, limit=limit,
                                           window_seconds=WINDOW, now=self._clock())
        return max(1, int(wait + 0.999)) if wait else 0

    def _digest(self, purpose: str, secret_id: str, *parts: str) -> str:
        return keyed_digest(self._keyring, purpose, secret_id, *parts)

    def _event(self, action: AuditAction, record: SecretRecord, actor: str,
               client: WebClient, detail: str | None = None) -> AuditEvent:
        return self._external(AuditEvent(action, at=self._clock(), actor=actor,
                                         team_id=record.team_id, code=record.code,
                                         secret_id=record.secret_id, detail=detail), client)

    @staticmethod
    def _external(event: AuditEvent, client: WebClient) -> AuditEvent:
        return replace(event, mode="external", client_ip=client.ip,
                       user_agent=client.user_agent)

    async def _denied(self, record: SecretRecord, actor: str, client: WebClient,
                      detail: str) -> None:
        await self._record(self._event(AuditAction.ACCESS_DENIED, record, actor, client,
                                       detail))

    async def _record(self, event: AuditEvent) -> None:
        await self._audit.record(event)

    def _later(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Let mails and receipts under way finish (at shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)

