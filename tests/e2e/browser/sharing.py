"""What the browser tests share: Alice sharing outside Slack through the real form, the
link read from the form's answer, and the checks that nothing secret was kept anywhere."""

from __future__ import annotations

import http.client
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from playwright.sync_api import Page, Response

from devtools.harness.bot_process import BotProcess
from devtools.harness.smtp_server import SmtpServer
from devtools.slack_stand_in import SlackStandIn, blockkit
from tests.conftest import ALICE, redis_contents, sent_outside_reveals
from tests.e2e.test_e2e_external_slack import choose, open_form
from tests.e2e.test_e2e_share_reveal import CODE

MAIL_FROM = "share-secret@example.test"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{28}#[A-Za-z0-9_-]{43}")
CODE_IN_MAIL = re.compile(r"^    ([0-9]{6,8})$", re.MULTILINE)  # on a line of its own
REVEAL = "Reveal the secret"  # the button's name, as a screen reader reads it
GONE_HEADING = "This secret is no longer available"
GONE_TITLE = "No longer available · Share-secret"
# A browser's user agent, for requests that must not look like a previewer's.
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Safari/537.36")


@dataclass(frozen=True)
class Shared:
    """A secret Alice shared outside Slack, as the form's answer showed it to her."""

    link: str  # PUBLIC_URL/s/<id>#<key>
    code: str  # the share code

    @property
    def page_url(self) -> str:
        """The link without its key: what a browser requests, and all a server sees."""
        return self.link.partition("#")[0]

    @property
    def key(self) -> str:
        return self.link.partition("#")[2]

    @property
    def path(self) -> str:
        return urlsplit(self.page_url).path


def new_secret(kind: str) -> str:
    """A plaintext no other test uses, so a search for it finds only this test's traces."""
    return f"{kind}-{secrets.token_urlsafe(18)}"


def share_outside(sim: Any, slack: SlackStandIn, audience: str, *, secret: str,
                  **fields: Any) -> Shared:
    """Alice opens the form, chooses `audience` ("link" or "email"), fills it in and
    presses Share; the link is read from the form's answer (the one place it is shown)."""
    form = choose(sim, slack, open_form(sim), audience)
    reply = sim.submit(ALICE, form, recipients=None, secret=secret, **fields)
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "update", answer
    assert blockkit.modal_errors(answer["view"]) == []
    text = json.dumps(answer["view"])
    links = LINK.findall(text)
    assert len(links) == 1, text
    code = CODE.search(text)
    assert code is not None, text
    return Shared(link=links[0], code=code.group())


def visit(page: Page, url: str) -> Response:
    """Open `url` in `page`; the answer to the page's own request."""
    response = page.goto(url)
    assert response is not None, f"no answer for {url}"
    return response


def post_reveal(bot: BotProcess, shared: Shared, *, origin: str | None,
                user_agent: str = BROWSER_UA, **body: str) -> tuple[int, dict[str, Any]]:
    """The reveal POST as the page's script sends it (the key in the body), from `origin`
    (None: no Origin header); the status and the JSON answer."""
    headers = {"Content-Type": "application/json", "User-Agent": user_agent}
    if origin is not None:
        headers["Origin"] = origin
    status, answer = bot.request("POST", f"{shared.path}/reveal",
                                 json.dumps({"key": shared.key, **body}).encode(), headers)
    return status, json.loads(answer)


@dataclass(frozen=True)
class Answer:
    """A plain HTTP answer, read whole."""

    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def fetch(bot: BotProcess, method: str, path: str, headers: dict[str, str] | None = None,
          body: bytes = b"") -> Answer:
    """One plain HTTP request (no browser), as a previewer or a scanner would send it."""
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())
    finally:
        conn.close()


def assert_kept_nowhere(bot: BotProcess, client: redis.Redis, slack: SlackStandIn,
                        shared: Shared, *values: str) -> None:
    """Neither the link's key nor any of `values` (plaintexts, codes, passphrases) is in
    the bot's log, in any Redis key or value (read by type, and as DUMP serialises it),
    or in anything sent to Slack. (The search looks where the secret left its traces:
    its share code is in the log, its metadata in Redis.)"""
    log = bot.log_text()
    assert shared.code in log
    keys = list(client.scan_iter())
    assert [k for k in keys if shared.code.replace("-", "").encode() in k]
    contents = redis_contents(client)
    dumps = [dump for key in keys if (dump := client.dump(key)) is not None]
    for value in (shared.key, *values):
        assert value not in log, "found in the bot's log"
        needle = value.encode()
        assert not [v for v in contents if needle in v], "found in Redis"
        assert not [d for d in dumps if needle in d], "found in a DUMP of a Redis key"
        assert sent_outside_reveals(slack, value) == [], "sent to Slack"


def assert_not_mailed(smtp: SmtpServer, *values: str) -> None:
    """No mail the bot sent holds any of `values`, in any part or header."""
    mails = smtp.messages()
    for value in values:
        assert not [m.rcpt_tos for m in mails if value.encode() in m.raw
                    or value in m.text() or value in m.html()], "found in a mail"
