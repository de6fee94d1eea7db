"""The small parts of the web page's service (bot.secrets.web_reveal): its limits, what
it needs from its collaborators, keyed digests, and how a refused reveal is answered."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bot.crypto import KeyRing
from bot.domain import RevealOutcome, SecretRecord
from bot.render.external import opened_receipt
from bot.secrets.expiry import NoticesByTeam
from bot.secrets.external import PageInfo, WebClient, WebOutcome, WebRevealResult
from bot.secrets.reveal import RevealResult
from bot.storage.link_views import LinkViews

WINDOW = 10 * 60
MAX_WAITING = 500  # mails and receipts waiting to run after their answers


@dataclass(frozen=True)
class WebLimits:
    """Attempts allowed per window (WINDOW seconds), per client IP and per secret."""

    reveals_per_ip: int = 30
    reveals_per_secret: int = 60
    codes_per_ip: int = 10
    codes_per_secret: int = 20
    codes_per_address: int = 3  # per address and client
    mails_per_address: int = 10  # per address, whoever asks


class RecordStore(Protocol):
    link_views: LinkViews

    async def get(self, secret_id: str) -> SecretRecord | None: ...


class NameSource(Protocol):
    async def sender_and_workspace(self, team_id: str, user_id: str) -> tuple[str, str]: ...


class CodeMail(Protocol):
    async def send_code(self, *, to: str, code: str, page: PageInfo) -> None: ...


# receipt(record, principal, client, last_view): tell the sender, off the request.
Receipt = Callable[[SecretRecord, str, WebClient, bool], Coroutine[Any, Any, None]]


def client_key(ip: str) -> str:
    """Whom a per-client limit counts: the IPv4 address, or the IPv6 /64 network (one
    host commonly holds a whole /64, so single addresses would cost an attacker nothing)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def keyed_digest(keyring: KeyRing, purpose: str, *parts: str) -> str:
    """A keyed digest (HMAC-SHA256 under a key derived from the ring's first key): what
    Redis holds in place of an address or a code, useless without the key ring (a code's
    few million values cannot be tried against it offline)."""
    key = hashlib.sha256(b"share-secret/web " + purpose.encode() + b"|"
                         + keyring.encryption_key().material).digest()
    message = "|".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def refused(result: RevealResult) -> WebRevealResult:
    """The page's answer to a reveal that used no view."""
    outcome = result.outcome
    if outcome is RevealOutcome.NEEDS_PASSPHRASE:
        return WebRevealResult(WebOutcome.NEEDS_PASSPHRASE)
    if outcome is RevealOutcome.WRONG_PASSPHRASE:
        return WebRevealResult(WebOutcome.WRONG_PASSPHRASE, tries_left=result.tries_left)
    if outcome is RevealOutcome.LOCKED:
        return WebRevealResult(WebOutcome.LOCKED, retry_after=result.locked_seconds)
    if outcome is RevealOutcome.GUESSES_PENDING:
        return WebRevealResult(WebOutcome.RATE_LIMITED, retry_after=5)
    if outcome is RevealOutcome.IN_FLIGHT:
        return WebRevealResult(WebOutcome.OPENING, retry_after=2)
    return WebRevealResult(WebOutcome.GONE)


def web_receipts(notices: NoticesByTeam) -> Receipt:
    """The sender's receipt when someone opens their secret on the web page, through
    their workspace's client, where the sender's notices go (Delivery.to_sender)."""
    async def receipt(record: SecretRecord, principal: str, client: WebClient,
                      last_view: bool) -> None:
        told = await notices.for_team(record.team_id)
        if told is not None:
            await told.delivery.to_sender(record, opened_receipt(
                principal=principal, label=record.label, code=record.code,
                client_ip=client.ip, last_view=last_view))
    return receipt


class Later:
    """Runs work (a mail, a receipt) after the answer; dropped, and logged, when too much
    is waiting already (a stalled mail server must not grow memory without end)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, work: Coroutine[Any, Any, None]) -> None:
        if len(self._tasks) >= MAX_WAITING:
            work.close()
            self._logger.warning("a mail or receipt of the web page was dropped: %d waiting",
                                 len(self._tasks))
            return
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
