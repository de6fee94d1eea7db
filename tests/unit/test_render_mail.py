"""The link mail and the code mail: text and HTML alike, neutral subjects, everything a
person typed escaped in the HTML, and both intact after a trip through a real SMTP server."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from bot.mail import MailSender, parse_smtp_url
from bot.render.mail import (
    CODE_SUBJECT,
    LINK_SUBJECT,
    Envelope,
    code_mail,
    link_mail,
)
from devtools.harness.smtp_server import SmtpServer

NOW = 1_741_874_700  # Thursday 13 March 2025, 14:05 UTC
FROM = "Share Secret <share-secret@acme.example>"
TO = "bob@vendor.example"
LINK = "https://share.acme.example/s/Q2xhc3NpZmllZA#a2V5LXBhcnQtb2YtdGhlLWxpbmstMzItYnl0ZXM"
HOSTILE = '<a href="https://evil.example/">click</a><script>alert(1)</script>'


def _envelope(**changes) -> Envelope:
    return Envelope(mail_from=FROM, to=TO, now=NOW, **changes)


def _link_mail(**changes) -> EmailMessage:
    values = {"link": LINK, "sender": "Alice Adams", "workspace": "Acme",
              "label": "Staging DB", "expires_at": NOW + 3 * 86400, **changes}
    return link_mail(_envelope(), **values)


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


class _Links(HTMLParser):
    """Every href and src in a page, and its visible text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.text: list[str] = []
        self.tags: set[str] = set()
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.targets += [value for name, value in attrs if name in {"href", "src"}]

    def handle_data(self, data):
        self.text.append(data)


def test_the_link_mail_says_who_what_until_when_and_how():
    message = _link_mail()
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == FROM
    assert message["To"] == TO
    assert message["Subject"] == LINK_SUBJECT
    assert message["Date"] == "Thu, 13 Mar 2025 14:05:00 +0000"
    assert message["Message-ID"].endswith("@acme.example>")
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = _parts(message)
    for part in (text, " ".join(_Links(html).text)):
        assert "Alice Adams (Acme on Slack) shared a secret with you" in " ".join(part.split())
        assert "Staging DB" in part
        assert "Sunday 16 March 2025, 14:05 UTC (in 3 days)" in " ".join(part.split())
        assert "one-time code" in part
        assert "passphrase" not in part
    assert f"\n{LINK}\n" in text
    assert _Links(html).targets == [LINK]


def test_without_a_label_nothing_stands_in_for_it():
    text, html = _parts(_link_mail(label=None))
    assert "shared a secret with you." in text
    assert "shared a secret with you." in " ".join(_Links(html).text)


def test_a_passphrase_is_announced_not_given():
    text, html = _parts(_link_mail(passphrase=True))
    assert "You will also need the passphrase, which Alice Adams will give you another way." \
        in text
    assert "will give you another way" in html


def test_subjects_are_the_same_whatever_was_shared():
    """Previews and scanners see neither the label nor the sender nor the code."""
    one = _link_mail(label="Prod root password", sender="Mallory")
    two = _link_mail(label=None)
    assert one["Subject"] == two["Subject"] == LINK_SUBJECT
    code = code_mail(_envelope(), code="482913", sender="Mallory", workspace="Acme",
                     label="Prod root password")
    assert code["Subject"] == CODE_SUBJECT
    assert "482913" not in code["Subject"]


def test_what_people_typed_cannot_add_markup_to_the_html():
    message = _link_mail(label=HOSTILE, sender=f"Eve {HOSTILE}", workspace=f"Acme {HOSTILE}")
    text, html = _parts(message)
    page = _Links(html)
    assert page.targets == [LINK]
    assert "script" not in page.tags
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE in text  # plain text is shown as typed: it cannot be markup there
    code = code_mail(_envelope(), code="482913", sender=HOSTILE, workspace=HOSTILE,
                     label=HOSTILE)
    assert _Links(_parts(code)[1]).targets == []


def test_only_http_links_are_mailed():
    with pytest.raises(ValueError, match="http"):
        _link_mail(link="javascript:alert(1)")


def test_the_code_mail_gives_the_code_for_fifteen_minutes_and_says_to_ignore_it_otherwise():
    message = code_mail(_envelope(), code="04815162", sender="Alice Adams", workspace="Acme",
                        label="Staging DB")
    assert message.get_content_type() == "multipart/alternative"
    assert (message["From"], message["To"]) == (FROM, TO)
    text, html = _parts(message)
    for part in (text, " ".join(" ".join(_Links(html).text).split())):
        assert "04815162" in part
        assert "Staging DB" in part
        assert "Alice Adams (Acme on Slack)" in part
        assert "valid for 15 minutes" in part
        assert "If you did not ask for this, ignore this mail." in part
    assert _Links(html).targets == []
    unlabelled, _ = _parts(code_mail(_envelope(), code="123456", sender="A", workspace="B",
                                     label=None))
    assert "to open the secret from A" in unlabelled


@pytest.mark.parametrize("code", ["12345", "123456789", "12 456", "12a456", "",
                                  "\uff11\uff12\uff13\uff14\uff15\uff16"])  # full-width
def test_only_six_to_eight_digit_codes(code):
    with pytest.raises(ValueError, match="6 to 8 digits"):
        code_mail(_envelope(), code=code, sender="A", workspace="B", label=None)


def test_tests_can_fix_the_message_id():
    assert _link_mail()["Message-ID"] != _link_mail()["Message-ID"]
    fixed = link_mail(_envelope(message_id="<1@acme.example>"), link=LINK, sender="A",
                      workspace="B", label=None, expires_at=NOW + 60)
    assert fixed["Message-ID"] == "<1@acme.example>"


async def test_both_mails_arrive_intact_through_a_real_smtp_server():
    """Quoted-printable and line folding on the wire give back the same link and code."""
    sent = [_link_mail(label="Ünïcödé ✓ label"),
            code_mail(_envelope(), code="04815162", sender="Alice", workspace="Acme",
                      label=None)]
    with SmtpServer() as smtp:
        sender = MailSender(parse_smtp_url(smtp.url))
        for message in sent:
            await sender.send(message)
        received = [smtp.wait_for(to=TO, count=n) for n in (1, 2)]
    for message, mail in zip(sent, received, strict=True):
        text, html = _parts(message)
        assert mail.text() == text
        assert mail.html() == html
        assert mail.message["Subject"] == message["Subject"]
    assert LINK in received[0].text()
    assert _Links(received[0].html()).targets == [LINK]
    assert "Ünïcödé ✓ label" in received[0].text()
    assert "04815162" in received[1].text()
