"""One-time codes for email recipients of external secrets: asked for on the page,
mailed, typed back (bot.storage.web_codes keeps their keyed digests).

An address that is not on the list gets a decoy: the same Redis step with a digest no
code matches, no mail. So the answers to a code request, and later to a typed code (wrong
with tries left, or void), are the same whether or not the address is listed.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.crypto import KeyRing
from bot.domain import SecretRecord, email_principal
from bot.errors import StorageUnavailable
from bot.secrets.external import PageInfo
from bot.secrets.web_parts import CodeMail, keyed_digest
from bot.storage.web_codes import RedisWebCodes, UsedCode

CODE_DIGITS = 8
CODE_SECONDS = 15 * 60
CODE_TRIES = 5  # wrong tries that void a code

@dataclass(frozen=True)
class TakenCode:
    """A right code, taken for a reveal: what putting it back needs."""

    address: str
    ticket: str
    used: UsedCode


# later(work): run `work` after the answer (the service keeps the task).
Later = Callable[[Coroutine[Any, Any, None]], None]


class EmailCodes:
    def __init__(self, *, codes: RedisWebCodes, keyring: KeyRing, mail: CodeMail | None,
                 logger: logging.Logger, later: Later) -> None:
        self._codes = codes
        self._keyring = keyring
        self._mail = mail
        self._logger = logger
        self._later = later

    @property
    def can_mail(self) -> bool:
        return self._mail is not None

    def who(self, record: SecretRecord, address: str) -> str:
        """The keyed digest that names an address's code in Redis."""
        return keyed_digest(self._keyring, "address", record.secret_id, address)

    def ticket(self, record: SecretRecord, ticket: str) -> str:
        """The keyed digest that names one request's code in Redis."""
        return keyed_digest(self._keyring, "ticket", record.secret_id, ticket)

    async def request(self, record: SecretRecord, address: str,
                      page: Callable[[], Awaitable[PageInfo]]) -> tuple[bool, str]:
        """Issue a code for `address` (a decoy when it is not listed) and mail a real one
        after the answer: whether the address is listed, and the request's ticket (the
        page sends it back with the code; decoys have one too)."""
        listed = email_principal(address) in record.recipients
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        digest = keyed_digest(self._keyring, "code", record.secret_id, address, code) \
            if listed else secrets.token_hex(16)
        ticket = secrets.token_urlsafe(16)
        await self._codes.issue(record.secret_id, self.who(record, address),
                                self.ticket(record, ticket), digest=digest,
                                seconds=CODE_SECONDS)
        if listed:
            self._later(self._mail_code(address, code, page))
        return listed, ticket

    async def use(self, record: SecretRecord, address: str, ticket: str,
                  typed: str) -> UsedCode:
        return await self._codes.use(
            record.secret_id, self.who(record, address), self.ticket(record, ticket),
            max_tries=CODE_TRIES,
            digest=keyed_digest(self._keyring, "code", record.secret_id, address, typed))

    async def put_back(self, record: SecretRecord, taken: TakenCode) -> None:
        """A code taken for a reveal that used no view stays usable (a wrong passphrase
        must not cost a new mail)."""
        with contextlib.suppress(StorageUnavailable):
            await self._codes.restore(record.secret_id, self.who(record, taken.address),
                                      self.ticket(record, taken.ticket), taken.used)

    async def _mail_code(self, address: str, code: str,
                         page: Callable[[], Awaitable[PageInfo]]) -> None:
        assert self._mail is not None
        try:
            await self._mail.send_code(to=address, code=code, page=await page())
        except Exception as exc:  # noqa: BLE001 - logged by kind; the person asks again
            self._logger.warning("a code mail could not be sent (%s)", type(exc).__name__)
