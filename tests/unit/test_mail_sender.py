"""MailSender against a real SMTP server (aiosmtpd, started here): plain, STARTTLS and
implicit TLS, logging in only over TLS, and every failure a MailUnavailable that names the
server and never the password, the addresses or the mail."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from bot.errors import MailUnavailable
from bot.mail import Handshake, MailSender, parse_smtp_url
from devtools.harness.smtp_server import SmtpServer

PASSWORD = "s3cr3t-smtp-pw"
USERS = {"share-secret": PASSWORD}
BODY = "A one-time code: 48151623"
TO = "bob@vendor.example"


def _message(to: str = TO) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Share Secret <share-secret@acme.example>"
    message["To"] = to
    message["Subject"] = "Your code"
    message.set_content(BODY)
    return message


def _sender(smtp: SmtpServer, *, trusted: bool = True, **options) -> MailSender:
    context = smtp.client_context() if trusted and smtp.ca_file else None
    return MailSender(parse_smtp_url(smtp.url), tls_context=context, **options)


def _assert_safe(error: MailUnavailable) -> None:
    text = str(error)
    for private in (PASSWORD, BODY, "48151623", TO, "gone@vendor.example", "share-secret@"):
        assert private not in text, text


async def test_plain_smtp_delivers_the_message():
    with SmtpServer() as smtp:
        await _sender(smtp).send(_message())
        mail = smtp.wait_for(to=TO)
    assert mail.mail_from == "share-secret@acme.example"
    assert mail.text().strip() == BODY
    assert mail.message["Subject"] == "Your code"
    assert mail.over_tls is False


async def test_starttls_is_used_when_offered_and_then_the_login():
    with SmtpServer(tls="starttls", users=USERS) as smtp:
        sender = _sender(smtp)
        await sender.send(_message())
        mail = smtp.wait_for(to=TO)
        assert await sender.check() == Handshake(address=f"127.0.0.1:{smtp.port}", tls=True,
                                                 logged_in=True)
    assert mail.over_tls is True
    assert mail.login == "share-secret"


async def test_smtps_speaks_tls_from_the_start():
    with SmtpServer(tls="implicit", users=USERS) as smtp:
        sender = _sender(smtp)
        assert smtp.url.startswith("smtps://")
        await sender.send(_message())
        assert smtp.wait_for(to=TO).over_tls is True
        assert (await sender.check()).tls is True


async def test_check_without_tls_or_credentials_reports_a_plain_handshake():
    with SmtpServer() as smtp:
        handshake = await _sender(smtp).check()
        assert smtp.messages() == []
    assert handshake == Handshake(address=f"127.0.0.1:{smtp.port}", tls=False, logged_in=False)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_a_certificate_the_system_does_not_trust_is_refused(tls):
    """The default context verifies: the test CA is not in the system's store."""
    with SmtpServer(tls=tls, users=USERS) as smtp:
        with pytest.raises(MailUnavailable, match="certificate that does not verify") as caught:
            await _sender(smtp, trusted=False).send(_message())
        assert smtp.messages() == []
    _assert_safe(caught.value)


async def test_the_password_is_never_sent_in_the_clear():
    """A server that offers no STARTTLS gets no AUTH at all (it would take one here)."""
    with SmtpServer(users=USERS) as smtp:
        with pytest.raises(MailUnavailable, match="offers no STARTTLS") as caught:
            await _sender(smtp).send(_message())
        assert smtp.messages() == []
    _assert_safe(caught.value)


async def test_a_wrong_password_is_refused_without_quoting_it():
    with SmtpServer(tls="starttls", users={"share-secret": "the-right-one"}) as smtp:
        sender = MailSender(parse_smtp_url(f"smtp://share-secret:{PASSWORD}@127.0.0.1:"
                                           f"{smtp.port}"), tls_context=smtp.client_context())
        with pytest.raises(MailUnavailable, match=r"refused the login \(535\)") as caught:
            await sender.check()
    _assert_safe(caught.value)


async def test_a_refused_recipient_fails_the_send_without_naming_it():
    with SmtpServer(refuse=["gone@vendor.example"]) as smtp:
        with pytest.raises(MailUnavailable, match=r"refused every recipient \(550\)") as caught:
            await _sender(smtp).send(_message("gone@vendor.example"))
        _assert_safe(caught.value)
        both = _message()
        both["Cc"] = "gone@vendor.example"
        with pytest.raises(MailUnavailable, match=r"refused 1 recipient \(550\)") as caught:
            await _sender(smtp).send(both)
    _assert_safe(caught.value)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_server_that_is_down_fails_at_once(closed_port):
    sender = MailSender(parse_smtp_url(f"smtp://share-secret:{PASSWORD}@127.0.0.1:{closed_port}"))
    started = time.monotonic()
    with pytest.raises(MailUnavailable) as caught:
        await sender.send(_message())
    assert time.monotonic() - started < 2
    assert str(caught.value) == (f"mail server 127.0.0.1:{closed_port} cannot be reached "
                                 "(Connection refused)")
    _assert_safe(caught.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel does) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_a_server_that_never_answers_times_out(silent_server):
    sender = MailSender(parse_smtp_url(f"smtp://127.0.0.1:{silent_server}"), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MailUnavailable, match=r"did not answer within 0.5 s"):
        await sender.check()
    assert 0.4 < time.monotonic() - started < 3


async def test_an_unknown_host_is_named_as_a_dns_failure():
    sender = MailSender(parse_smtp_url("smtp://no-such-host.invalid"), timeout=5)
    with pytest.raises(MailUnavailable,
                       match=r"no-such-host.invalid:587 cannot be (found|reached)"):
        await sender.check()


async def test_many_sends_at_once_all_arrive():
    """More at once than MAX_CONNECTIONS: they queue for a slot, and none is lost."""
    with SmtpServer() as smtp:
        sender = _sender(smtp)
        await asyncio.gather(*(sender.send(_message(f"user{n}@vendor.example"))
                               for n in range(12)))
        smtp.wait_for(count=12)
        assert sorted(m.rcpt_tos[0] for m in smtp.messages()) == sorted(
            f"user{n}@vendor.example" for n in range(12))


@pytest.fixture
def dripping_server() -> Iterator[int]:
    """A server that greets one byte at a time, each well within the socket timeout, and
    never finishes the line (for 2 s)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                connection.sendall(b"2")
                time.sleep(0.1)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(timeout=5)
    listener.close()


async def test_a_server_that_answers_a_byte_at_a_time_meets_the_deadline(dripping_server):
    sender = MailSender(parse_smtp_url(f"smtp://127.0.0.1:{dripping_server}"), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MailUnavailable, match=r"did not finish within 1.5 s"):
        await sender.check()
    assert 1.4 < time.monotonic() - started < 2.5
