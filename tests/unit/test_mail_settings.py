"""SMTP_URL and MAIL_FROM: parsed, defaulted and refused as docs/configuration.md says, with
errors that never quote the URL or its password."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.mail import SmtpEndpoint, parse_address, parse_smtp_url
from tests.unit.test_config import VALID
from tests.unit.test_config import env as config_env  # noqa: F401 - a fixture used below

PASSWORD = "s3cr3t-smtp-pw"


@pytest.fixture
def env(config_env, monkeypatch):  # noqa: F811
    """test_config's clean environment, without mail settings from outside either."""
    for name in ["SMTP_URL", "MAIL_FROM"]:
        monkeypatch.delenv(name, raising=False)
    return config_env


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", SmtpEndpoint("mail.example.com", 587, implicit_tls=False)),
    ("smtps://mail.example.com", SmtpEndpoint("mail.example.com", 465, implicit_tls=True)),
    ("smtp://mail.example.com:25", SmtpEndpoint("mail.example.com", 25, implicit_tls=False)),
    ("SMTPS://Mail.Example.com:2465/", SmtpEndpoint("mail.example.com", 2465, implicit_tls=True)),
    ("smtp://bot:pw@127.0.0.1:2525",
     SmtpEndpoint("127.0.0.1", 2525, implicit_tls=False, username="bot", password="pw")),
    ("smtp://bot%40example.com:p%40ss%3Aw%2Frd@[::1]",
     SmtpEndpoint("::1", 587, implicit_tls=False, username="bot@example.com",
                  password="p@ss:w/rd")),
])
def test_smtp_urls_parse(url, expected):
    assert parse_smtp_url(url) == expected


def test_the_password_stays_out_of_repr_and_the_address_is_host_and_port():
    endpoint = parse_smtp_url(f"smtps://bot:{PASSWORD}@[::1]:465")
    assert PASSWORD not in repr(endpoint)
    assert endpoint.address == "[::1]:465"
    assert endpoint.has_credentials
    assert not parse_smtp_url("smtp://relay").has_credentials


@pytest.mark.parametrize(("url", "says"), [
    (f"http://bot:{PASSWORD}@mail.example.com", "must start with smtp://"),
    (f"smtp://bot:{PASSWORD}@:587", "must name the mail server's host"),
    (f"smtp://bot:{PASSWORD}@mail.example.com:99999", "port that is not a number"),
    (f"smtp://bot:{PASSWORD}@mail.example.com:25x", "port that is not a number"),
    (f"smtp://bot:{PASSWORD}@mail.example.com/inbox", "no path or query"),
    (f"smtp://bot:{PASSWORD}@mail.example.com?tls=1", "no path or query"),
    ("smtp://bot@mail.example.com", "a user without a password"),
    (f"smtp://:{PASSWORD}@mail.example.com", "a user without a password"),
    ("smtp://bot:@mail.example.com", "a user without a password"),
])
def test_bad_smtp_urls_are_refused_without_quoting_them(url, says):
    with pytest.raises(ValueError, match=says) as caught:
        parse_smtp_url(url)
    assert PASSWORD not in str(caught.value)
    assert "mail.example.com" not in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [
    ("share-secret@example.com", "share-secret@example.com"),
    ("  Share Secret <share-secret@example.com> ", "Share Secret <share-secret@example.com>"),
    ('"Acme, Inc." <bot@acme.example>', '"Acme, Inc." <bot@acme.example>'),
])
def test_addresses_parse(value, expected):
    assert str(parse_address(value)) == expected


@pytest.mark.parametrize("value", [
    "", "share-secret", "share-secret@localhost", "@example.com",
    "a@example.com, b@example.com", "team: a@example.com;",
    "a@example.com\r\nBcc: everyone@example.com", "two words@example.com",
])
def test_anything_but_one_mailbox_is_refused(value):
    with pytest.raises(ValueError, match="mail address"):
        parse_address(value)


def test_settings_without_mail(env):
    env()
    settings = load_settings()
    assert settings.smtp_url is None
    assert settings.smtp is None
    assert settings.mail_from is None


def test_settings_with_mail(env):
    env(SMTP_URL=f"smtp://bot:{PASSWORD}@mail.example.com", MAIL_FROM="Share <s@example.com>")
    settings = load_settings()
    assert settings.smtp == SmtpEndpoint("mail.example.com", 587, implicit_tls=False,
                                         username="bot", password=PASSWORD)
    assert settings.mail_from == "Share <s@example.com>"
    assert PASSWORD not in repr(settings)
    env(SMTP_URL="", MAIL_FROM="")
    assert load_settings().smtp is None


@pytest.mark.parametrize(("changes", "named"), [
    ({"SMTP_URL": f"smtp://bot:{PASSWORD}@mail.example.com"},
     "MAIL_FROM is required when SMTP_URL is set"),
    ({"SMTP_URL": f"imap://bot:{PASSWORD}@mail.example.com", "MAIL_FROM": "s@example.com"},
     "SMTP_URL must start with smtp://"),
    ({"SMTP_URL": f"smtp://bot:{PASSWORD}@mail.example.com:0x19",
      "MAIL_FROM": "s@example.com"}, "SMTP_URL has a port that is not a number"),
    ({"SMTP_URL": "smtp://mail.example.com", "MAIL_FROM": "not an address"},
     "MAIL_FROM must be"),
])
def test_bad_mail_settings_name_the_variable_never_the_value(env, changes, named):
    env(**changes)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    assert PASSWORD not in message
    assert "mail.example.com" not in message
    for value in VALID.values():
        assert value not in message
