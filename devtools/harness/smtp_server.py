"""A real SMTP server for the tests and the demo (aiosmtpd, in a thread of its own), keeping
every message it accepts so a test can read the link or the code the bot mailed.

    with SmtpServer() as smtp:                       # plain SMTP on 127.0.0.1, a free port
        settings = {"smtp_url": smtp.url, "mail_from": "share-secret@example.com"}
        ...
        mail = smtp.wait_for(to="bob@vendor.example", timeout=5)
        mail.text(), mail.html(), mail.message["Subject"]

`SmtpServer(tls="starttls")` offers STARTTLS and `tls="implicit"` speaks TLS from the first
byte (smtps://), both with a certificate from a throwaway CA (`smtp.ca_file` to trust it);
`users={"bot": "pw"}` offers AUTH PLAIN and LOGIN, only once TLS is on unless `tls` is "none".
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from port_for import get_port

from devtools.harness.certificates import make_certificates

Tls = Literal["none", "starttls", "implicit"]


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted: the envelope, how it came, and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    over_tls: bool
    login: str | None  # the AUTH user, when the client logged in

    def text(self) -> str:
        """The text/plain body, decoded, with \\n line ends (the whole body of a single-part
        text message)."""
        return self._body("plain")

    def html(self) -> str:
        """The text/html body."""
        return self._body("html")

    def _body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            raise LookupError(f"no text/{subtype} part in {self.message.get_content_type()}")
        content = part.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")  # as written, not as on the wire


class _Collector:
    """aiosmtpd's handler: parses each message and hands it to the server's list."""

    def __init__(self, keep: Any) -> None:
        self._keep = keep

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
            self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        # session.ssl is set by STARTTLS only; the transport knows about implicit TLS too.
        transport = server.transport
        over_tls = session.ssl is not None or (
            transport is not None and transport.get_extra_info("ssl_object") is not None)
        self._keep(ReceivedMail(
            mail_from=envelope.mail_from or "", rcpt_tos=tuple(envelope.rcpt_tos),
            message=message, raw=raw, over_tls=over_tls, login=login))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port, collecting what it receives (thread-safe)."""

    def __init__(self, *, tls: Tls = "none", users: Mapping[str, str] | None = None) -> None:
        self.tls: Tls = tls
        self.users = dict(users or {})
        self.host = "127.0.0.1"
        self.port = 0
        self.ca_file: Path | None = None
        self._received: list[ReceivedMail] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    # -- where it is -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SMTP_URL for the bot: smtp:// (STARTTLS when offered) or smtps://, with the first
        user's credentials when there are users."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        credentials = ""
        if self.users:
            user, password = next(iter(self.users.items()))
            credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return f"{scheme}://{credentials}{self.host}:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        """A verifying TLS context that trusts this server's CA (and nothing else)."""
        assert self.ca_file is not None, "this server speaks no TLS"
        return ssl.create_default_context(cafile=str(self.ca_file))

    # -- what it received ------------------------------------------------------------------

    def messages(self, to: str | None = None) -> list[ReceivedMail]:
        """Every message accepted so far, in order; only those for `to` when given."""
        with self._arrived:
            return [m for m in self._received if to is None or _for(m, to)]

    def wait_for(self, to: str | None = None, *, count: int = 1,
                 timeout: float = 5.0) -> ReceivedMail:
        """The `count`-th message for `to` (any recipient when None), waiting up to `timeout`
        seconds for it to arrive; AssertionError, saying what did arrive, if it does not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [m for m in self._received if to is None or _for(m, to)]
                if len(matching) >= count:
                    return matching[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m.rcpt_tos for m in self._received]
                    raise AssertionError(f"no message #{count} for {to or 'anyone'} within "
                                         f"{timeout} s; received for: {seen}")
                self._arrived.wait(left)

    def clear(self) -> None:
        with self._arrived:
            self._received.clear()

    def _keep(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self._received.append(mail)
            self._arrived.notify_all()

    # -- life ------------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        self._workdir = tempfile.TemporaryDirectory(prefix="share-secret-smtp-")
        server_context: ssl.SSLContext | None = None
        if self.tls != "none":
            certs = make_certificates(Path(self._workdir.name), name="share-secret smtp test")
            self.ca_file = certs.ca
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(certs.server_cert, certs.server_key)
        port = get_port(None)
        assert port is not None
        options: dict[str, Any] = {}
        if self.tls == "starttls":
            options["tls_context"] = server_context
        if self.users:
            # Over plain SMTP too when the server has no TLS, so a test can show that the
            # bot refuses to send its password in the clear (it never gets to AUTH).
            options.update(authenticator=self._authenticate,
                           auth_require_tls=self.tls != "none")
        self._controller = Controller(
            _Collector(self._keep), hostname=self.host, port=port,
            ssl_context=server_context if self.tls == "implicit" else None,
            server_hostname="smtp.share-secret.test", **options)
        self._controller.start()
        self.port = port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = login in self.users and self.users[login] == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def _for(mail: ReceivedMail, address: str) -> bool:
    return address.lower() in (r.lower() for r in mail.rcpt_tos)

