"""The demo's second story: a secret for someone outside Slack, opened in a real browser.

Alice shares a link secret through the form (the same modal, "Anyone with the link"), and
copies the link it shows her once. Slack's link previewer fetches the page and uses
nothing; a contractor opens the link in headless Chromium, reveals the secret, and a
second open finds it gone. Screenshots of the page before and after the reveal, and of
the "gone" page, are saved in SCREENSHOTS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from playwright.sync_api import Browser, Page, Request, Response

from bot.secrets.external import decode_link_key
from devtools.harness.bot_process import BotProcess
from devtools.harness.browser import launch_chromium, open_page
from devtools.harness.slack_client import SlackSim
from devtools.harness.smtp_server import SmtpServer
from devtools.slack_stand_in import SlackStandIn
from scripts.demo_view import GENERAL, audit_lines, readable, say, view_lines

LINK_SECRET = "postgres://deploy:Tr0ub4dor-and-3@db.staging:5432/app"
LABEL = "Staging DB"
PREVIEWER = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "demo-output"
LINK = re.compile(r"(https?://\S+?/s/([A-Za-z0-9_-]+))#([A-Za-z0-9_-]{43})")


@dataclass
class Seen:
    """What the story saw, for the checks: the link's parts, what the previewer and the
    browser received, and where the screenshots are."""

    url: str = ""
    key: str = ""
    preview_page: bytes = b""
    gone_page: str = ""
    address_bars: list[str] = field(default_factory=list)
    # Every request the contractor's browser sent (method, url, body) and every answer
    # (method, url, body) it received.
    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def play(sim: SlackSim, slack: SlackStandIn, bot: BotProcess) -> Seen:
    seen = Seen()
    audited = len(audit_lines(slack, 0, timeout=0))
    seen.url, seen.key = _share_link(sim, slack)
    say("alice", "sends the link to a contractor by another way (a ticket, a mail).", [])
    _preview(bot, seen)
    SCREENSHOTS.mkdir(exist_ok=True)
    with launch_chromium() as browser:
        _reveal(browser, seen)
        _open_again(browser, seen)
    receipt = slack.wait_for("chat.postMessage", where=lambda c: c.params.get(
        "channel") == slack.dm_of("U0ALICE") and LABEL in c.params.get("text", ""))[0]
    say("alice", "gets a DM:", readable(receipt.params["text"]))
    lines = audit_lines(slack, audited + 4)[audited:]
    say("admins", "see in #secrets-audit:", [readable(line) for line in lines])
    say("screenshots", "(the page before and after the reveal, and the second open):",
        [str(path) for path in seen.screenshots])
    return seen


def _share_link(sim: SlackSim, slack: SlackStandIn) -> tuple[str, str]:
    """Alice shares LINK_SECRET with anyone with the link; the link and its key."""
    command = sim.slash_command("U0ALICE", GENERAL)
    opened = sim.opened_view(command.trigger_id)
    say("alice", "types /share-secret and chooses who can open it:", _choice(opened, "link"))
    before = len(slack.calls_to("views.update"))
    sim.choose("U0ALICE", opened, block_id="audience", value="link")
    form = dict(slack.wait_for("views.update", count=before + 1)[-1].response["view"])
    lines = view_lines(form)
    shown = next(i for i, line in enumerate(lines) if line.strip().startswith("Secret:"))
    say("alice", "sees the form drawn again for a link:",
        [*lines[:shown], "  (and the rest of the form as before)"])
    reply = sim.submit("U0ALICE", form, recipients=None, secret=LINK_SECRET, label=LABEL)
    view = reply.json()["view"]
    say("alice", f"pastes the secret, labels it {LABEL!r} and presses Share:", LINK_SECRET)
    say("alice", "sees the link, once, in the form (it is posted nowhere):", view_lines(view))
    link = LINK.search(json.dumps(view))
    if link is None:
        raise RuntimeError("the form's answer holds no link")
    url, _, key = link.groups()
    return url, key


def _preview(bot: BotProcess, seen: Seen) -> None:
    status, seen.preview_page = bot.request("GET", _path(seen.url),
                                            headers={"User-Agent": PREVIEWER})
    say("Slack's link previewer", "fetches the link, as when it is pasted in a channel:",
        [f"User-Agent: {PREVIEWER}", f"GET {_path(seen.url)} (never the key after '#': "
         "browsers and bots keep it to themselves)",
         f"HTTP {status}, title {_title(seen.preview_page)!r}: the inert page, without "
         "sender or label. A GET uses nothing: the one view is still there, below."])


def _reveal(browser: Browser, seen: Seen) -> None:
    with open_page(browser, viewport={"width": 900, "height": 760}) as page:
        answers = _watch(page, seen)
        page.goto(f"{seen.url}#{seen.key}")
        reveal = page.get_by_role("button", name="Reveal the secret")
        reveal.wait_for()
        seen.address_bars.append(page.url)
        say("the contractor", "opens the link in a browser and sees:", _card(page))
        seen.screenshots.append(_shot(page, "1-before-reveal.png"))
        reveal.click()
        secret_box = page.locator("#secret")
        secret_box.wait_for()
        say("the contractor", "clicks Reveal the secret and sees:",
            [f"| {secret_box.input_value()} |", page.locator("#after").inner_text()])
        seen.address_bars.append(page.url)
        seen.screenshots.append(_shot(page, "2-revealed.png"))
        # Bodies are read while the page is open; the browser may drop them after.
        seen.received = [(r.request.method, r.url, _body(r)) for r in answers]


def _open_again(browser: Browser, seen: Seen) -> None:
    with open_page(browser, viewport={"width": 900, "height": 560}) as page:
        _watch(page, seen)
        page.goto(f"{seen.url}#{seen.key}")
        seen.gone_page = page.content()
        say("the contractor", "opens the link again:", _card(page))
        seen.screenshots.append(_shot(page, "3-gone.png"))


def checks(seen: Seen, *, log: str, slack: SlackStandIn, redis_url: str,
           smtp: SmtpServer, plaintexts: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Each check's question and what it found (nothing, when it holds)."""
    key = seen.key
    raw_key = decode_link_key(key) or b"?"
    secrets = [s.encode() for s in (*plaintexts, key)] + [raw_key]
    mails = smtp.messages()
    stored = list(redis_values(redis_url))
    return [
        ("link secret or link key in the bot's log",
         [name for name, text in (("link secret", LINK_SECRET), ("key", key)) if text in log]),
        ("link key in any call to Slack (the form's answer showed it to alice once)",
         [c.method for c in slack.calls if key in str(c.params)]),
        ("a secret or the link key (as text or bytes) in Redis",
         [f"{sum(s in v for v in stored)} value(s)" for s in secrets
          if any(s in v for v in stored)]),
        (f"a secret or the link key in a mail ({len(mails)} sent)",
         [str(m.rcpt_tos) for m in mails if any(s in m.raw for s in secrets)]),
        ("link secret or label in what the previewer was sent",
         [t for t in (LINK_SECRET, LABEL) if t.encode() in seen.preview_page]),
        ("link key left in the browser's address bar", [u for u in seen.address_bars
                                                        if key in u]),
        ("link key sent by the browser other than in the reveal POST's body",
         _outside_reveals(seen.sent, key.encode())),
        ("link secret in an answer to the browser other than the reveal POST's",
         _outside_reveals(seen.received, LINK_SECRET.encode())),
        ("link secret in the page of the second open", [seen.gone_page[:40]]
         if LINK_SECRET in seen.gone_page else []),
    ]


def _outside_reveals(traffic: list[tuple[str, str, bytes]], needle: bytes) -> list[str]:
    """The requests or answers, other than the reveal POST's, that hold `needle`; and a
    problem when no reveal holds it (then nothing was recorded, and nothing checked)."""
    def reveal(method: str, url: str) -> bool:
        return method == "POST" and url.endswith("/reveal")
    found = [f"{method} {url}" for method, url, body in traffic
             if needle in url.encode() or (needle in body and not reveal(method, url))]
    if not any(needle in body and reveal(method, url) for method, url, body in traffic):
        found.append("no reveal POST was recorded: nothing was checked")
    return found


# -- the browser ----------------------------------------------------------------------------

def _watch(page: Page, seen: Seen) -> list[Response]:
    """Record every request the page sends in `seen`; return the list its answers go to."""
    answers: list[Response] = []

    def sent(request: Request) -> None:
        seen.sent.append((request.method, request.url, request.post_data_buffer or b""))
    page.on("request", sent)
    def answered(response: Response) -> None:
        answers.append(response)
    page.on("response", answered)
    return answers


def _body(response: Response) -> bytes:
    try:
        return response.body()
    except Exception:  # noqa: BLE001 - a redirect or an answer without a body
        return b""


def _card(page: Page) -> list[str]:
    """The page's card as a person reads it (only what is visible)."""
    return [line.strip() for line in page.locator("main").inner_text().splitlines()
            if line.strip()]


def _shot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


# -- the rest -------------------------------------------------------------------------------

def _choice(view: dict[str, Any], value: str) -> str:
    """The form's audience question, with `value` chosen: "Who ...: ( ) this  (*) that"."""
    block = next(b for b in view["blocks"] if b.get("block_id") == "audience")
    options = [("(*) " if o["value"] == value else "( ) ") + o["text"]["text"]
               for o in block["element"]["options"]]
    return f"{block['label']['text']}: " + "  ".join(options)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _title(html: bytes) -> str:
    found = re.search(rb"<title>(.*?)</title>", html, re.S)
    return found.group(1).decode().strip() if found else ""


def redis_values(url: str) -> Iterator[bytes]:
    """Every key name, field and value in Redis, whatever the key's type."""
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(count=1000):
            yield key
            yield from _flat(_read(client, key))
    finally:
        client.close()


def _read(client: redis.Redis, key: bytes) -> Any:
    kind = client.type(key)
    return {b"string": client.get, b"hash": client.hgetall, b"set": client.smembers,
            b"list": lambda k: client.lrange(k, 0, -1),
            b"zset": lambda k: client.zrange(k, 0, -1),
            b"stream": client.xrange}.get(kind, lambda k: None)(key)


def _flat(value: Any) -> Iterator[bytes]:
    if isinstance(value, bytes):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(k)
            yield from _flat(v)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _flat(item)
