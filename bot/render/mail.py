"""The mails sent to recipients outside Slack, each in plain text and HTML.

Two mails: the link to a secret shared with an email address, and the one-time code that
proves the reader owns that address. Neither ever holds the secret (no function here takes
it). Subjects stay the same whatever was shared: previews, lock screens and mail scanners
see no label and no code.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jinja2 import DictLoader, Environment, StrictUndefined

from bot.render.blocks import in_words

LINK_SUBJECT = "A secret was shared with you"
CODE_SUBJECT = "Your one-time code"
CODE_VALID_MINUTES = 15
_CODE = re.compile(r"^[0-9]{6,8}$")
_FOOTER = ("Sent by share-secret, which shares one-time secrets from Slack. The secret is not "
           "in this mail.")

_TEMPLATES = {
    "page.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #1d1c1d; max-width: 36em">
{% block body %}{% endblock %}
<p style="color: #616061; font-size: 0.9em">{{ footer }}</p>
</body></html>
""",
    "link.html": """{% extends "page.html" %}{% block body %}
<p><strong>{{ sender }}</strong> ({{ workspace }} on Slack) shared a secret with you
{%- if label %}: <strong>{{ label }}</strong>{% endif %}.</p>
<p><a href="{{ link }}" style="font-weight: bold">Open the secret</a>
before {{ expires }} ({{ expires_in }}).</p>
<p>The page will ask for your email address and send a one-time code to it. Type the code
on the page to see the secret.{% if passphrase %} You will also need the passphrase, which
{{ sender }} will give you another way.{% endif %}</p>
<p>If the link does not work, copy this address into your browser:<br>
<code style="word-break: break-all">{{ link }}</code></p>
{% endblock %}""",
    "code.html": """{% extends "page.html" %}{% block body %}
<p>Your one-time code to open {% if label %}<strong>{{ label }}</strong>{% else %}the secret
{%- endif %} from <strong>{{ sender }}</strong> ({{ workspace }} on Slack):</p>
<p style="font-size: 1.6em; font-weight: bold; letter-spacing: 0.15em">{{ code }}</p>
<p>Type it on the page where you asked for it. It is valid for {{ minutes }} minutes and
works once.</p>
<p>If you did not ask for this, ignore this mail.</p>
{% endblock %}""",
}
# Every value is escaped: a sender's name or a label cannot add markup or links.
_HTML = Environment(loader=DictLoader(_TEMPLATES), autoescape=True, trim_blocks=True,
                    lstrip_blocks=True, undefined=StrictUndefined)


@dataclass(frozen=True)
class Envelope:
    """Who a mail is from and to; `now` and `message_id` are given by tests (by default the
    clock, and a fresh Message-ID at MAIL_FROM's domain)."""

    mail_from: str  # MAIL_FROM, as the settings hold it
    to: str
    now: float | None = None
    message_id: str | None = None


def link_mail(envelope: Envelope, *, link: str, sender: str, workspace: str,
              label: str | None, expires_at: float, passphrase: bool = False) -> EmailMessage:
    """The mail that brings an email recipient the link (`PUBLIC_URL/s/<id>#<key>`): who
    shared it, its label and expiry, and what the page will ask for."""
    if not link.startswith(("https://", "http://")):
        raise ValueError("the link must be an http(s) address")
    now = time.time() if envelope.now is None else envelope.now
    expires, expires_in = _when(expires_at), f"in {in_words(expires_at - now)}"
    what = f": {label}" if label else ""
    lock = (f" You will also need the passphrase, which {sender} will give you another "
            "way.") if passphrase else ""
    text = (f"{sender} ({workspace} on Slack) shared a secret with you{what}.\n\n"
            f"Open it before {expires} ({expires_in}):\n\n{link}\n\n"
            "The page will ask for your email address and send a one-time code to it. Type "
            f"the code on the page to see the secret.{lock}\n\n-- \n{_FOOTER}\n")
    html = _html("link.html", LINK_SUBJECT, sender=sender, workspace=workspace, label=label,
                 link=link, expires=expires, expires_in=expires_in, passphrase=passphrase)
    return _message(envelope, LINK_SUBJECT, text, html, now)


def code_mail(envelope: Envelope, *, code: str, sender: str, workspace: str,
              label: str | None, minutes: int = CODE_VALID_MINUTES) -> EmailMessage:
    """The mail with a one-time code (6 to 8 digits) for a recipient who asked for one."""
    if not _CODE.fullmatch(code):
        raise ValueError("a one-time code is 6 to 8 digits")
    now = time.time() if envelope.now is None else envelope.now
    what = label if label else "the secret"
    text = (f"Your one-time code to open {what} from {sender} ({workspace} on Slack):\n\n"
            f"    {code}\n\nType it on the page where you asked for it. It is valid for "
            f"{minutes} minutes and works once.\n\n"
            f"If you did not ask for this, ignore this mail.\n\n-- \n{_FOOTER}\n")
    html = _html("code.html", CODE_SUBJECT, code=code, sender=sender, workspace=workspace,
                 label=label, minutes=minutes)
    return _message(envelope, CODE_SUBJECT, text, html, now)


def _html(template: str, subject: str, **values: object) -> str:
    return _HTML.get_template(template).render(subject=subject, footer=_FOOTER, **values)


def _message(envelope: Envelope, subject: str, text: str, html: str,
             now: float) -> EmailMessage:
    message = EmailMessage()
    message["From"] = envelope.mail_from
    message["To"] = envelope.to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    addresses = message["From"].addresses
    message["Message-ID"] = envelope.message_id or make_msgid(
        domain=addresses[0].domain if addresses else None)
    # RFC 3834: out-of-office replies and other robots do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _when(ts: float) -> str:
    """A moment every reader can place: "Thursday 13 March 2025, 14:05 UTC"."""
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"
