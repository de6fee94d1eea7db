"""doctor's SMTP check: a real handshake with an SMTP server started here (aiosmtpd), each way
it can go, never printing the password."""

from __future__ import annotations

import socket

import pytest

from devtools.harness.smtp_server import SmtpServer
from tests.unit.test_doctor import doctor, stand_in

PASSWORD = "s3cr3t-smtp-pw"
FROM = "share-secret@acme.example"


@pytest.fixture(scope="module")
def slack():
    with stand_in() as running:
        yield running


def _smtp(slack, redis_url, tmp_path, url: str, **env: str):
    code, verdicts, out = doctor(slack, redis_url, tmp_path, SMTP_URL=url, MAIL_FROM=FROM,
                                 **env)
    assert PASSWORD not in out
    return code, verdicts["smtp"], out


def test_starttls_and_login_pass(slack, redis_url, tmp_path):
    """SSL_CERT_FILE: how a deployment trusts a private CA (here the test server's)."""
    with SmtpServer(tls="starttls", users={"share-secret": PASSWORD}) as smtp:
        code, (status, detail), out = _smtp(slack, redis_url, tmp_path, smtp.url,
                                            SSL_CERT_FILE=str(smtp.ca_file))
    assert code == 0, out
    assert status == "OK"
    assert detail == (f"127.0.0.1:{smtp.port} answered (TLS, logged in as share-secret); "
                      f"mail from {FROM}")


def test_implicit_tls_passes(slack, redis_url, tmp_path):
    with SmtpServer(tls="implicit", users={"share-secret": PASSWORD}) as smtp:
        code, (status, detail), out = _smtp(slack, redis_url, tmp_path, smtp.url,
                                            SSL_CERT_FILE=str(smtp.ca_file))
    assert (code, status) == (0, "OK"), out
    assert "(TLS, logged in as share-secret)" in detail


def test_a_server_without_tls_warns(slack, redis_url, tmp_path):
    with SmtpServer() as smtp:
        code, (status, detail), out = _smtp(slack, redis_url, tmp_path, smtp.url)
    assert code == 0, out
    assert status == "WARN"
    assert "(no TLS, no login)" in detail
    assert "fix: the links mailed cross the network in the clear" in detail


def test_an_untrusted_certificate_fails(slack, redis_url, tmp_path):
    with SmtpServer(tls="starttls", users={"share-secret": PASSWORD}) as smtp:
        code, (status, detail), _ = _smtp(slack, redis_url, tmp_path, smtp.url)
    assert (code, status) == (1, "FAIL")
    assert "certificate that does not verify" in detail


def test_a_wrong_password_fails_without_printing_it(slack, redis_url, tmp_path):
    with SmtpServer(tls="starttls", users={"share-secret": "the-right-one"}) as smtp:
        url = f"smtp://share-secret:{PASSWORD}@127.0.0.1:{smtp.port}"
        code, (status, detail), _ = _smtp(slack, redis_url, tmp_path, url,
                                          SSL_CERT_FILE=str(smtp.ca_file))
    assert (code, status) == (1, "FAIL")
    assert f"127.0.0.1:{smtp.port} refused the login (535)" in detail
    assert "fix: check SMTP_URL" in detail


def test_a_server_that_is_down_fails(slack, redis_url, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, (status, detail), _ = _smtp(slack, redis_url, tmp_path,
                                      f"smtps://share-secret:{PASSWORD}@127.0.0.1:{port}")
    assert (code, status) == (1, "FAIL")
    assert f"mail server 127.0.0.1:{port} cannot be reached (Connection refused)" in detail
