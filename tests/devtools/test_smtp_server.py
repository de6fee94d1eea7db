"""The SMTP server the tests start: it accepts real SMTP (plain, STARTTLS, implicit TLS, AUTH)
and hands back each message parsed, for a test to read."""

from __future__ import annotations

import smtplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest

from devtools.harness.smtp_server import SmtpServer


def _message(to: str, *, html: bool = True) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "bot@share-secret.example"
    message["To"] = to
    message["Subject"] = "A secret was shared with you"
    message.set_content("Open https://share.example/s/abc#key\n")
    if html:
        message.add_alternative('<p>Open <a href="https://share.example/s/abc#key">it</a></p>',
                                subtype="html")
    return message


def test_plain_smtp_is_captured_with_its_envelope_and_both_bodies():
    with SmtpServer() as smtp, smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.send_message(_message("Bob@Vendor.example"),
                            to_addrs=["Bob@Vendor.example", "carol@vendor.example"])

        mail = smtp.wait_for(to="bob@vendor.example")

    assert mail.mail_from == "bot@share-secret.example"
    assert mail.rcpt_tos == ("Bob@Vendor.example", "carol@vendor.example")
    assert mail.message["Subject"] == "A secret was shared with you"
    assert mail.text() == "Open https://share.example/s/abc#key\n"
    assert 'href="https://share.example/s/abc#key"' in mail.html()
    assert mail.over_tls is False
    assert mail.login is None
    assert smtp.url == f"smtp://127.0.0.1:{smtp.port}"


def test_a_text_only_message_has_no_html_part():
    with SmtpServer() as smtp, smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.send_message(_message("bob@vendor.example", html=False))
        mail = smtp.wait_for()
    assert mail.text().startswith("Open ")
    with pytest.raises(LookupError, match="text/html"):
        mail.html()


def test_wait_for_counts_per_recipient_and_says_what_arrived_when_it_gives_up():
    with SmtpServer() as smtp, smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        for to in ["bob@vendor.example", "carol@vendor.example", "bob@vendor.example"]:
            message = _message(to)
            message.replace_header("Subject", f"for {to}")
            client.send_message(message)

        assert smtp.wait_for(to="bob@vendor.example", count=2) is smtp.messages()[2]
        assert [m.rcpt_tos for m in smtp.messages(to="carol@vendor.example")] == [
            ("carol@vendor.example",)]
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"no message #3 for bob@vendor.example.*"
                                                 r"carol@vendor.example"):
            smtp.wait_for(to="bob@vendor.example", count=3, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 2

        smtp.clear()
        assert smtp.messages() == []


def test_wait_for_wakes_as_soon_as_the_message_arrives():
    with SmtpServer() as smtp, ThreadPoolExecutor(1) as pool:
        def send_later() -> None:
            time.sleep(0.2)
            with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
                client.send_message(_message("bob@vendor.example"))

        pending = pool.submit(send_later)
        mail = smtp.wait_for(to="bob@vendor.example", timeout=10)
        pending.result()
    assert mail.rcpt_tos == ("bob@vendor.example",)


def test_messages_sent_at_once_from_many_threads_are_all_kept():
    with SmtpServer() as smtp:
        def send(n: int) -> None:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
                client.send_message(_message(f"user{n}@vendor.example"))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(24)))
        smtp.wait_for(count=24)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages()) == sorted(
        f"user{n}@vendor.example" for n in range(24))


def test_starttls_is_offered_with_a_certificate_only_its_ca_verifies():
    with SmtpServer(tls="starttls") as smtp:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            with pytest.raises(ssl.SSLCertVerificationError):
                client.starttls(context=ssl.create_default_context())
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.starttls(context=smtp.client_context())
            client.send_message(_message("bob@vendor.example"))
        mail = smtp.wait_for(to="bob@vendor.example")
    assert mail.over_tls is True
    assert smtp.url.startswith("smtp://")


def test_implicit_tls_speaks_tls_from_the_first_byte():
    with SmtpServer(tls="implicit") as smtp:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP(smtp.host, smtp.port, timeout=2).ehlo()
        with smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=5,
                              context=smtp.client_context()) as client:
            client.send_message(_message("bob@vendor.example"))
        mail = smtp.wait_for(to="bob@vendor.example")
    assert mail.over_tls is True
    assert smtp.url == f"smtps://127.0.0.1:{smtp.port}"


def test_auth_is_offered_after_starttls_and_checks_the_password():
    users = {"share-secret": "p@ss:w/rd"}
    with SmtpServer(tls="starttls", users=users) as smtp:
        assert smtp.url == f"smtp://share-secret:p%40ss%3Aw%2Frd@127.0.0.1:{smtp.port}"
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.ehlo()
            assert not client.has_extn("auth"), "AUTH offered before TLS"
            client.starttls(context=smtp.client_context())
            client.ehlo()
            assert client.has_extn("auth")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("share-secret", "wrong")
            client.login("share-secret", "p@ss:w/rd")
            client.send_message(_message("bob@vendor.example"))
        mail = smtp.wait_for(to="bob@vendor.example")
    assert mail.login == "share-secret"
    assert mail.over_tls is True


def test_a_server_without_tls_offers_auth_in_the_clear_for_tests_that_must_refuse_it():
    with SmtpServer(users={"u": "p"}) as smtp, \
            smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("auth")
        assert not client.has_extn("starttls")


def test_once_stopped_it_refuses_connections():
    smtp = SmtpServer().start()
    port = smtp.port
    smtp.stop()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", port, timeout=2)
