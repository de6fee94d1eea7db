"""The web pages' routes in the real app under uvicorn, over real HTTP: what each answers,
the headers on every response, the Origin check, the body checks, the client address
behind a trusted proxy, and that GET and HEAD never reach for a view.

The service behind the pages is `ScriptedReveals` below, a stand-in written for these
tests: it answers from a small table and records every call, so the tests can tell what
the routes asked of it. The real service is tested end to end with the real bot.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field

import pytest

from bot.domain import Audience
from bot.secrets.external import (
    CodeOutcome,
    CodeResult,
    PageInfo,
    WebClient,
    WebOutcome,
    WebRevealResult,
    encode_link_key,
    new_link_key,
)
from bot.web.asgi import BotASGI
from devtools.harness.inprocess import FakeClock, InProcessBot
from tests.conftest import inprocess_settings

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://secrets.example.com/share"
ORIGIN = "https://secrets.example.com"
PROXY_NET = "127.0.0.1/32"  # the test client is the trusted proxy
SECRET_ID = "ABCDEFGHJKMN" + "abcdefgh_-012345"
EMAIL_ID = "BCDEFGHJKMNP" + "abcdefgh_-012345"
KEY = encode_link_key(new_link_key())
PLAINTEXT = "correct horse battery staple"
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0.0.0 Safari/537.36")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass
class ScriptedReveals:
    """Stand-in for the service behind the pages (ExternalReveals): a link secret that
    opens once with KEY, an email secret; `answer` overrides what reveal returns."""

    now: float
    calls: list[tuple[str, str, WebClient, dict]] = field(default_factory=list)
    opened: bool = False
    answer: WebRevealResult | None = None

    def infos(self) -> dict[str, PageInfo]:
        link = PageInfo(audience=Audience.LINK, sender_name="Alice", workspace_name="Acme",
                        label="<b>Staging</b> DB", expires_at=self.now + 7200,
                        has_passphrase=False)
        email = PageInfo(audience=Audience.EMAIL, sender_name="Alice", workspace_name="Acme",
                         label=None, expires_at=self.now + 7200, has_passphrase=True)
        return {SECRET_ID: link, EMAIL_ID: email}

    def named(self, *names: str) -> list[tuple[str, str, WebClient, dict]]:
        return [call for call in self.calls if call[0] in names]

    async def describe(self, secret_id: str, *, client: WebClient) -> PageInfo | None:
        self.calls.append(("describe", secret_id, client, {}))
        return None if self.opened and secret_id == SECRET_ID else self.infos().get(secret_id)

    async def request_code(self, secret_id: str, *, link_key: str, email: str,
                           client: WebClient) -> CodeResult:
        self.calls.append(("request_code", secret_id, client, {"email": email}))
        if secret_id != EMAIL_ID:
            return CodeResult(CodeOutcome.GONE)
        return CodeResult(CodeOutcome.SENT)  # listed or not: the same answer

    async def reveal(self, secret_id: str, *, link_key: str, client: WebClient,
                     email: str | None = None, code: str | None = None,
                     ticket: str | None = None,
                     passphrase: str | None = None) -> WebRevealResult:
        self.calls.append(("reveal", secret_id, client, {
            "link_key": link_key, "email": email, "code": code, "ticket": ticket,
            "passphrase": passphrase}))
        if self.answer is not None:
            return self.answer
        if secret_id != SECRET_ID or link_key != KEY or self.opened:
            return WebRevealResult(WebOutcome.GONE)
        self.opened = True
        return WebRevealResult(WebOutcome.REVEALED, text=PLAINTEXT, last_view=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        assert self.headers["content-type"] == "application/json"
        return json.loads(self.body)


@pytest.fixture(scope="module")
def web_bot(slack, redis_url):
    settings = inprocess_settings(slack, redis_url, public_url=PUBLIC_URL,
                                  trusted_proxies=PROXY_NET)
    with InProcessBot(settings, clock=FakeClock()) as bot:
        yield bot


@pytest.fixture
def reveals(web_bot):
    service = ScriptedReveals(now=web_bot.clock())
    web_bot.runtime.external = service
    yield service
    web_bot.runtime.external = None


def call(bot: InProcessBot, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": BROWSER, **(headers or {})})
        response = conn.getresponse()
        names = [name.lower() for name, _ in response.getheaders()]
        assert len(names) == len(set(names)), f"a header twice: {names}"
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())
    finally:
        conn.close()


def post(bot: InProcessBot, path: str, payload: object, *, origin: str | None = ORIGIN,
         content_type: str = "application/json", raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    sent = {"Content-Type": content_type, **(headers or {})}
    if origin is not None:
        sent["Origin"] = origin
    return call(bot, "POST", path, raw if raw is not None else json.dumps(payload).encode(),
                sent)


def assert_secured(answer: Answer) -> None:
    """The security headers every response carries."""
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-robots-tag"] == "noindex, nofollow"
    assert answer.headers["strict-transport-security"].startswith("max-age=")  # https


# -- GET and HEAD -----------------------------------------------------------------------

def test_the_page_changes_nothing_for_get_or_head(web_bot, reveals):
    page = call(web_bot, "GET", f"/share/s/{SECRET_ID}")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    assert "Alice shared a secret with you" in html
    assert "&lt;b&gt;Staging&lt;/b&gt; DB" in html
    assert 'src="/share/static/page.js"' in html
    head = call(web_bot, "HEAD", f"/share/s/{SECRET_ID}")
    assert (head.status, head.body) == (200, b"")
    assert head.headers == page.headers  # the same headers, Content-Length included
    assert [c[0] for c in reveals.calls] == ["describe", "describe"]
    assert reveals.calls[0][2] == WebClient(ip="127.0.0.1", user_agent=BROWSER)


@pytest.mark.parametrize("agent", [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Twitterbot/1.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)"])
def test_previewers_see_a_neutral_page_and_use_nothing(web_bot, reveals, agent):
    for method in ("GET", "HEAD", "GET"):
        answer = call(web_bot, method, f"/share/s/{SECRET_ID}", headers={"User-Agent": agent})
        assert answer.status == 200
    html = call(web_bot, "GET", f"/share/s/{SECRET_ID}", headers={"User-Agent": agent}).body
    for leak in (b"Staging", b"Alice", b"Acme"):
        assert leak not in html
    assert b"<title>A secret was shared with you" in html
    assert not reveals.named("reveal", "request_code")
    assert not reveals.opened


def test_every_unavailable_secret_gets_the_same_page(web_bot, reveals):
    unknown = call(web_bot, "GET", "/share/s/ZZZZZZZZZZZZabcdefgh_-012345")
    malformed = call(web_bot, "GET", "/share/s/not-an-id")
    empty = call(web_bot, "GET", "/share/s/")
    reveals.opened = True
    used = call(web_bot, "GET", f"/share/s/{SECRET_ID}")
    for answer in (unknown, malformed, empty, used):
        assert answer.status == 404
        assert answer.body == unknown.body
        assert b"no longer available" in answer.body
        assert_secured(answer)
    # A malformed id is never looked up.
    assert [c[1] for c in reveals.named("describe")] == ["ZZZZZZZZZZZZabcdefgh_-012345",
                                                         SECRET_ID]


def test_static_files_and_robots(web_bot, reveals):
    script = call(web_bot, "GET", "/share/static/page.js")
    assert (script.status, script.headers["content-type"]) == (
        200, "text/javascript; charset=utf-8")
    assert b"history.replaceState" in script.body
    style = call(web_bot, "GET", "/share/static/page.css")
    assert (style.status, style.headers["content-type"]) == (200, "text/css; charset=utf-8")
    assert call(web_bot, "HEAD", "/share/static/page.css").body == b""
    for missing in ("/share/static/html.py", "/share/static/../web/html.py",
                    "/share/static/", "/static/page.js"):
        assert call(web_bot, "GET", missing).status == 404, missing
    robots = call(web_bot, "GET", "/robots.txt")
    assert (robots.status, robots.body) == (200, b"User-agent: *\nDisallow: /\n")
    assert call(web_bot, "POST", "/robots.txt").status == 405
    for answer in (script, style, robots):
        assert_secured(answer)


def test_every_response_carries_the_headers(web_bot, reveals):
    answers = [
        call(web_bot, "GET", f"/share/s/{SECRET_ID}"),
        call(web_bot, "GET", "/healthz"),
        call(web_bot, "GET", "/nowhere"),
        call(web_bot, "POST", "/slack/events", b"x=1"),
        call(web_bot, "DELETE", f"/share/s/{SECRET_ID}"),
        post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY}, origin=None),
        post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": "short"}),
    ]
    for answer in answers:
        assert_secured(answer)


# -- POST -------------------------------------------------------------------------------

def test_a_reveal_answers_the_plaintext_once(web_bot, reveals):
    first = post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY})
    assert first.status == 200
    assert first.json() == {"outcome": "revealed", "text": PLAINTEXT, "format": "text",
                            "last_view": True, "message": first.json()["message"]}
    assert "last view" in first.json()["message"]
    assert_secured(first)
    again = post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY})
    assert again.status == 404
    assert again.json()["outcome"] == "gone"
    assert PLAINTEXT.encode() not in again.body
    assert reveals.named("reveal")[0][3] == {"link_key": KEY, "email": None, "code": None,
                                              "ticket": None, "passphrase": None}


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null",
                                    "http://secrets.example.com",
                                    "https://secrets.example.com:8443",
                                    "https://secrets.example.com.evil.example"])
def test_posts_from_another_origin_are_refused(web_bot, reveals, origin):
    for action, payload in (("reveal", {"key": KEY}), ("code", {"email": "a@b.example"})):
        answer = post(web_bot, f"/share/s/{SECRET_ID}/{action}", payload, origin=origin)
        assert answer.status == 403
        assert answer.json()["outcome"] == "forbidden"
    assert not reveals.calls


def test_the_origin_is_compared_without_case(web_bot, reveals):
    answer = post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY},
                  origin="HTTPS://Secrets.Example.com")
    assert answer.status == 200


@pytest.mark.parametrize(("kwargs", "status", "error"), [
    ({"content_type": "text/plain"}, 415, "the body must be application/json"),
    ({"content_type": "application/x-www-form-urlencoded", "raw": b"key=abc"}, 415,
     "the body must be application/json"),
    ({"raw": b"{not json"}, 400, "body: not JSON"),
    ({"raw": b"[]"}, 400, "body: must be a JSON object"),
    ({"raw": json.dumps({"key": KEY, "admin": True}).encode()}, 400,
     "body: fields other than code, email, key, passphrase, ticket"),
    ({"raw": json.dumps({"key": KEY, "code": "12"}).encode()}, 400,
     "code: must be 6 to 8 digits"),
    ({"raw": json.dumps({"key": KEY, "pad": "x" * 9000}).encode()}, 413,
     "the body must be at most 8192 bytes"),
    ({"raw": json.dumps({"key": KEY[:-1]}).encode()}, 400, "key: not a link key"),
    ({"raw": b"{}"}, 400, "key: not a link key"),
])
def test_bad_bodies_are_refused_before_the_service(web_bot, reveals, kwargs, status, error):
    answer = post(web_bot, f"/share/s/{SECRET_ID}/reveal", None, **kwargs)
    assert answer.status == status
    assert answer.json()["error"] == error
    assert answer.json()["message"]
    assert not reveals.calls


def test_an_incomplete_link_says_so(web_bot, reveals):
    answer = post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY[:20]})
    assert "link is incomplete" in answer.json()["message"]


def test_a_malformed_id_is_gone_without_asking(web_bot, reveals):
    reveal = post(web_bot, "/share/s/not-an-id/reveal", {"key": KEY})
    code = post(web_bot, "/share/s/not-an-id/code", {"key": KEY, "email": "bob@vendor.example"})
    assert (reveal.status, reveal.json()["outcome"]) == (404, "gone")
    assert (code.status, code.json()["outcome"]) == (404, "gone")
    assert not reveals.calls


def test_wrong_methods_and_unknown_actions(web_bot, reveals):
    assert call(web_bot, "GET", f"/share/s/{SECRET_ID}/reveal").status == 405
    assert call(web_bot, "POST", f"/share/s/{SECRET_ID}").status == 405
    assert post(web_bot, f"/share/s/{SECRET_ID}/burn", {"key": KEY}).status == 404
    assert not reveals.named("reveal")


def test_the_email_flow(web_bot, reveals):
    listed = post(web_bot, f"/share/s/{EMAIL_ID}/code",
                  {"key": KEY, "email": "bob@vendor.example"})
    stranger = post(web_bot, f"/share/s/{EMAIL_ID}/code",
                    {"key": KEY, "email": "eve@elsewhere.example"})
    assert listed.status == stranger.status == 200
    assert listed.body == stranger.body
    assert listed.json()["outcome"] == "sent"
    assert [c[3]["email"] for c in reveals.named("request_code")] == [
        "bob@vendor.example", "eve@elsewhere.example"]
    reveals.answer = WebRevealResult(WebOutcome.WRONG_CODE, tries_left=2)
    wrong = post(web_bot, f"/share/s/{EMAIL_ID}/reveal", {
        "key": KEY, "email": "bob@vendor.example", "code": "123456",
        "ticket": "t-0123456789abcdef", "passphrase": "pw-12345"})
    assert wrong.status == 403
    assert wrong.json()["tries_left"] == 2
    assert "2 more tries" in wrong.json()["message"]
    assert reveals.named("reveal")[-1][3] == {"link_key": KEY, "email": "bob@vendor.example",
                                               "code": "123456",
                                               "ticket": "t-0123456789abcdef",
                                               "passphrase": "pw-12345"}


@pytest.mark.parametrize(("result", "status", "retry_after"), [
    (WebRevealResult(WebOutcome.RATE_LIMITED, retry_after=90), 429, "90"),
    (WebRevealResult(WebOutcome.LOCKED, retry_after=1800), 423, "1800"),
    (WebRevealResult(WebOutcome.BUSY), 503, "30"),
    (WebRevealResult(WebOutcome.OPENING, retry_after=2), 409, "2"),
    (WebRevealResult(WebOutcome.WRONG_PASSPHRASE, tries_left=4), 403, None),
    (WebRevealResult(WebOutcome.NEEDS_PASSPHRASE), 401, None),
    (WebRevealResult(WebOutcome.CODE_VOID), 403, None),
])
def test_refusals_say_when_to_retry(web_bot, reveals, result, status, retry_after):
    reveals.answer = result
    answer = post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY})
    assert answer.status == status
    assert answer.headers.get("retry-after") == retry_after
    assert answer.json()["outcome"] == result.outcome.value
    assert answer.json()["message"]
    assert "text" not in answer.json()


def test_the_client_is_read_behind_the_trusted_proxy(web_bot, reveals):
    call(web_bot, "GET", f"/share/s/{SECRET_ID}",
         headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.23", "User-Agent": "Agent\t X"})
    post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY},
         headers={"X-Forwarded-For": "198.51.100.24"})
    clients = [c[2] for c in reveals.calls]
    assert clients[0] == WebClient(ip="198.51.100.23", user_agent="Agent X")
    assert clients[1].ip == "198.51.100.24"


def test_without_the_service_the_secret_routes_are_not_found(web_bot):
    web_bot.runtime.external = None
    assert call(web_bot, "GET", f"/share/s/{SECRET_ID}").status == 404
    assert post(web_bot, f"/share/s/{SECRET_ID}/reveal", {"key": KEY}).status == 404
    assert call(web_bot, "GET", "/robots.txt").status == 200


async def test_without_public_url_there_are_no_pages(web_bot, slack, redis_url):
    """The same running bot, seen through an app built without PUBLIC_URL."""
    app = BotASGI(inprocess_settings(slack, redis_url), runtime=web_bot.runtime)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    for path in (f"/s/{SECRET_ID}", "/robots.txt", "/static/page.js"):
        sent.clear()
        await app({"type": "http", "method": "GET", "path": path, "headers": [],
                   "query_string": b"", "client": ("127.0.0.1", 1)}, receive, send)
        assert sent[0]["status"] == 404, path
