"""Handing mail to the SMTP server of SMTP_URL.

The standard library's smtplib, run in a worker thread: mail is rare here (a link per email
recipient, a code per request), so a connection per message costs nothing that matters and
needs no extra dependency. TLS is verified against the system's CAs unless the caller passes
its own context. Over smtp:// the bot upgrades with STARTTLS whenever the server offers it,
and refuses to log in where it does not: a password never crosses the network in the clear.

    sender = MailSender(parse_smtp_url(url))
    await sender.send(message)      # an EmailMessage from bot.render.mail
    await sender.check()            # a real handshake, for doctor
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage

from bot.errors import MailUnavailable
from bot.mail.smtp_url import SmtpEndpoint

# Every network wait (connecting, each reply) gives up after TIMEOUT_SECONDS, and a whole
# conversation after DEADLINE_WAITS of them.
TIMEOUT_SECONDS = 10.0
DEADLINE_WAITS = 3
# At most this many SMTP conversations at once: each holds a worker thread of the event
# loop's shared pool for up to the timeout, and a stalled server must not take them all.
MAX_CONNECTIONS = 4


@dataclass(frozen=True)
class Handshake:
    """What `check` found: the server answered, over TLS or not, logged in or not."""

    address: str  # host:port
    tls: bool
    logged_in: bool


class MailSender:
    """Sends EmailMessages through one SMTP server; every failure is MailUnavailable."""

    def __init__(self, endpoint: SmtpEndpoint, *, timeout: float = TIMEOUT_SECONDS,
                 tls_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._tls = tls_context or ssl.create_default_context()
        # smtplib's default EHLO name comes from getfqdn(), a reverse DNS lookup that can
        # stall for seconds; the host name needs no lookup.
        self._local_hostname = local_hostname or socket.gethostname() or "localhost"
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` over (envelope from its From, to its To, Cc and Bcc headers).

        MailUnavailable if it could not be, or if the server refused any recipient. After a
        timeout the server may still have taken it, so a retry can deliver it twice.
        """
        def deliver(client: smtplib.SMTP) -> None:
            refused = client.send_message(message)
            if refused:  # some recipients taken, others not: not what the caller asked
                codes = sorted({code for code, _ in refused.values()})
                raise self._failed(f"refused {len(refused)} recipient"
                                   f"{'s' if len(refused) != 1 else ''} ({_codes(codes)})")

        await self._run(deliver, "send the message")

    async def check(self) -> Handshake:
        """Connect, say EHLO, start TLS and log in as `send` would, then QUIT."""
        return await self._run(lambda client: None, "check the server")

    async def _run(self, step: Callable[[smtplib.SMTP], None], doing: str) -> Handshake:
        """The conversation in a worker thread, holding a slot until the thread is done
        (even when the caller gave up waiting), so stalled servers tie up at most
        MAX_CONNECTIONS threads."""
        await self._slots.acquire()
        work = asyncio.ensure_future(asyncio.to_thread(self._converse, step, doing))
        work.add_done_callback(self._finished)
        try:
            # Each network wait is bounded by the timeout; this bounds a server that answers
            # a byte at a time too.
            return await asyncio.wait_for(asyncio.shield(work), self.timeout * DEADLINE_WAITS)
        except TimeoutError:
            raise self._failed(f"did not finish within {self.timeout * DEADLINE_WAITS:g} s") \
                from None

    def _finished(self, work: asyncio.Future[Handshake]) -> None:
        self._slots.release()
        if not work.cancelled():
            work.exception()  # retrieved: one nobody awaited any more is not logged

    def _converse(self, step: Callable[[smtplib.SMTP], None], doing: str) -> Handshake:
        """In a worker thread: one whole SMTP conversation."""
        try:
            with self._session() as (client, handshake):
                step(client)
                return handshake
        except MailUnavailable:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise self._failed(f"refused the login ({exc.smtp_code}): check SMTP_URL's user "
                               "and password") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise self._failed(f"refused every recipient ({_codes(codes)})") from None
        except smtplib.SMTPSenderRefused as exc:
            raise self._failed(f"refused the sender ({exc.smtp_code}): check MAIL_FROM") \
                from None
        except smtplib.SMTPResponseException as exc:
            raise self._failed(f"answered {exc.smtp_code} when asked to {doing}") from None
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports a reply that timed out as a disconnection.
            if isinstance(exc.__context__, TimeoutError):
                raise self._failed(f"did not answer within {self.timeout:g} s") from None
            raise self._failed("closed the connection") from None
        except smtplib.SMTPException as exc:
            raise self._failed(f"failed ({type(exc).__name__})") from None
        except ssl.SSLCertVerificationError as exc:
            raise self._failed(f"has a certificate that does not verify "
                               f"({exc.verify_message})") from None
        except ssl.SSLError as exc:
            raise self._failed(f"failed the TLS handshake ({exc.reason or 'SSLError'})") \
                from None
        except TimeoutError:
            raise self._failed(f"did not answer within {self.timeout:g} s") from None
        except socket.gaierror:
            raise self._failed("cannot be found (DNS): check SMTP_URL's host") from None
        except OSError as exc:
            raise self._failed(f"cannot be reached ({exc.strerror or type(exc).__name__})") \
                from None

    @contextmanager
    def _session(self) -> Iterator[tuple[smtplib.SMTP, Handshake]]:
        """A connection ready to send: greeted, encrypted where it can be, logged in."""
        endpoint = self.endpoint
        client: smtplib.SMTP
        if endpoint.implicit_tls:
            client = smtplib.SMTP_SSL(endpoint.host, endpoint.port, timeout=self.timeout,
                                      local_hostname=self._local_hostname, context=self._tls)
        else:
            client = smtplib.SMTP(endpoint.host, endpoint.port, timeout=self.timeout,
                                  local_hostname=self._local_hostname)
        try:
            client.ehlo()
            tls = endpoint.implicit_tls
            if not tls and client.has_extn("starttls"):
                client.starttls(context=self._tls)
                client.ehlo()
                tls = True
            if endpoint.username is not None and endpoint.password is not None:
                if not tls:
                    raise self._failed("offers no STARTTLS, and SMTP_URL's password is never "
                                       "sent in the clear: use a server with TLS, or smtps://")
                client.login(endpoint.username, endpoint.password)
            yield client, Handshake(address=endpoint.address, tls=tls,
                                    logged_in=endpoint.username is not None)
            # The mail is the server's now: a failed goodbye changes nothing.
            with suppress(smtplib.SMTPException, OSError):
                client.quit()
        finally:
            client.close()

    def _failed(self, what: str) -> MailUnavailable:
        return MailUnavailable(f"mail server {self.endpoint.address} {what}")


def _codes(codes: list[int]) -> str:
    return ", ".join(str(code) for code in codes)
