"""The security headers on everything the pages serve, as a real browser receives them
(the page, its script and stylesheet, the reveal's JSON answer) and as plain clients do
(every other answer, robots.txt); and the page works under its own policy."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import ConsoleMessage, expect

from devtools.harness.browser import open_page
from tests.e2e.browser.sharing import (
    BROWSER_UA,
    REVEAL,
    fetch,
    new_secret,
    share_outside,
    visit,
)

pytestmark = pytest.mark.e2e

# As the issue states it, to the character.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-robots-tag": "noindex, nofollow",
}


def assert_secured(headers: dict[str, str], what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name} is {headers.get(name)!r}"
    # PUBLIC_URL is http here: no HSTS (a browser would ignore it over http anyway).
    assert "strict-transport-security" not in headers, what


def test_the_page_its_files_and_its_answer_carry_the_headers(wsim, slack, browser):
    """Every response the browser gets while opening a link and revealing it; no console
    error (nothing the policy blocked, no script error); the page says noindex too."""
    shared = share_outside(wsim, slack, "link", secret=new_secret("headers"))
    with open_page(browser) as page:
        responses = []
        problems: list[str] = []
        page.on("response", lambda response: responses.append(response))
        page.on("console", lambda m: problems.append(m.text) if is_error(m) else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        visit(page, shared.link)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.locator("#secret")).to_be_visible()

        kinds = {r.request.resource_type: r for r in responses}
        assert set(kinds) == {"document", "script", "stylesheet", "fetch"}, \
            [(r.request.resource_type, r.url) for r in responses]
        for response in responses:
            assert_secured(response.all_headers(), response.url)
        assert kinds["document"].header_value("content-type") == "text/html; charset=utf-8"
        assert kinds["script"].header_value("content-type") == \
            "text/javascript; charset=utf-8"
        assert kinds["stylesheet"].header_value("content-type") == "text/css; charset=utf-8"
        assert kinds["fetch"].header_value("content-type") == "application/json"
        assert kinds["fetch"].url == f"{shared.page_url}/reveal"
        expect(page.locator("meta[name=robots]")).to_have_attribute("content",
                                                                    "noindex, nofollow")
        expect(page.locator("meta[name=referrer]")).to_have_attribute("content",
                                                                      "no-referrer")
        assert problems == []


def is_error(message: ConsoleMessage) -> bool:
    """An error in the console, but for the 404 of the icon Chromium asks every site for
    on its own (the pages link none; its answer is checked with the others below)."""
    return message.type == "error" and \
        not message.location.get("url", "").endswith("/favicon.ico")


def test_every_other_answer_carries_the_headers(wsim, slack, web_bot):
    """The inert page to GET and HEAD, the gone page, a code's and a refusal's JSON, the
    answers to wrong paths and methods, the static files to HEAD, the icon browsers ask
    for (not served), and robots.txt, which disallows everything."""
    shared = share_outside(wsim, slack, "email", secret=new_secret("headers"),
                           emails="bob@vendor.com", mail_link=[])
    # Well formed, but no secret's: the last characters changed.
    unknown = shared.path[:-4] + ("AAAA" if not shared.path.endswith("AAAA") else "BBBB")
    posted = {"Content-Type": "application/json", "Origin": web_bot.url,
              "User-Agent": BROWSER_UA}
    answers = {
        "page": fetch(web_bot, "GET", shared.path),
        "page, HEAD": fetch(web_bot, "HEAD", shared.path),
        "gone page": fetch(web_bot, "GET", unknown),
        "script, HEAD": fetch(web_bot, "HEAD", "/static/page.js"),
        "stylesheet, HEAD": fetch(web_bot, "HEAD", "/static/page.css"),
        "unknown file": fetch(web_bot, "GET", "/static/secret.txt"),
        "POST to the page": fetch(web_bot, "POST", shared.path),
        "unknown action": fetch(web_bot, "GET", f"{shared.path}/open"),
        "robots.txt": fetch(web_bot, "GET", "/robots.txt"),
        "robots.txt, HEAD": fetch(web_bot, "HEAD", "/robots.txt"),
        "favicon.ico": fetch(web_bot, "GET", "/favicon.ico"),
    }
    assert {name: a.status for name, a in answers.items()} == {
        "page": 200, "page, HEAD": 200, "gone page": 404, "script, HEAD": 200,
        "stylesheet, HEAD": 200, "unknown file": 404, "POST to the page": 405,
        "unknown action": 404, "robots.txt": 200, "robots.txt, HEAD": 200,
        "favicon.ico": 404}
    forged = {**posted, "Origin": "https://evil.example"}
    for name, action, body, headers in [
            ("code", "code", {"key": shared.key, "email": "bob@vendor.com"}, posted),
            ("reveal without a code", "reveal", {"key": shared.key}, posted),
            ("reveal, forged origin", "reveal", {"key": shared.key}, forged)]:
        answers[name] = fetch(web_bot, "POST", f"{shared.path}/{action}", headers,
                              json.dumps(body).encode())
    assert [answers[n].status for n in ("code", "reveal without a code",
                                        "reveal, forged origin")] == [200, 401, 403]

    for name, answer in answers.items():
        assert_secured(answer.headers, name)
    assert answers["robots.txt"].body == b"User-agent: *\nDisallow: /\n"
    assert answers["robots.txt"].headers["content-type"] == "text/plain; charset=utf-8"
    for name in ("code", "reveal without a code", "reveal, forged origin", "unknown action"):
        assert answers[name].headers["content-type"] == "application/json", name
        json.loads(answers[name].body)

