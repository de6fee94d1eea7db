"""What opens a link without a person behind it uses nothing up: plain GETs and HEADs,
Slack's and Twitter's unfurlers, mail scanners (fetching the address without its key, or
rendering the whole link in a headless browser), and a page of another origin posting the
key. After all of them, the person still reveals the secret.
"""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import expect

from devtools.harness.browser import open_page
from devtools.harness.redis_state import assert_unchanged, snapshot
from tests.conftest import settle
from tests.e2e.browser.sharing import (
    BROWSER_UA,
    REVEAL,
    assert_kept_nowhere,
    fetch,
    new_secret,
    post_reveal,
    share_outside,
    visit,
)

pytestmark = pytest.mark.e2e

SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
TWITTERBOT = "Twitterbot/1.0"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
NEUTRAL_TITLE = "<title>A secret was shared with you · Share-secret</title>"
PERSON_TITLE = "<title>alice shared a secret with you · Share-secret</title>"
CROSS_ORIGIN = "This request did not come from this page, so it was refused. Nothing was used."


def test_gets_heads_unfurlers_and_scanners_use_nothing(wsim, slack, web_bot, browser,
                                                       redis_sync):
    """A secret with two views: after every fetcher below, Redis is as it was (no view,
    no lock, no audit event), and the person's Reveal is the first of two views."""
    secret = new_secret("staging-db")
    shared = share_outside(wsim, slack, "link", secret=secret, label="Staging DB",
                           views="total", total_views="2")
    # A plain Python GET of the address as mail scanners fetch it (no key: browsers and
    # scanners never send the part after '#'). The first GET of a page is audited, once
    # in a while; the snapshot is taken after it.
    with urllib.request.urlopen(shared.page_url, timeout=10) as first:
        assert first.status == 200
        assert PERSON_TITLE in first.read().decode()
    settle(slack)
    before = snapshot(redis_sync)

    for agent in (SLACKBOT, TWITTERBOT, OUTLOOK):
        preview = fetch(web_bot, "GET", shared.path, {"User-Agent": agent})
        assert preview.status == 200, agent
        page = preview.body.decode()
        assert NEUTRAL_TITLE in page, agent
        assert "Staging DB" not in page, agent
        assert "alice" not in page, agent
        assert "Acme" not in page, agent
    for agent in (SLACKBOT, BROWSER_UA, ""):  # a scanner that says it is a browser, or nothing
        head = fetch(web_bot, "HEAD", shared.path, {"User-Agent": agent})
        assert head.status == 200
        assert head.headers["content-type"] == "text/html; charset=utf-8"
        assert head.body == b""
        scan = fetch(web_bot, "GET", shared.path, {"User-Agent": agent})
        assert scan.status == 200
    # A scanner following every address in the page, the script's POST targets included.
    for action in ("reveal", "code"):
        assert fetch(web_bot, "GET", f"{shared.path}/{action}").status == 405
        assert fetch(web_bot, "HEAD", f"{shared.path}/{action}").status == 405
    # A scanner rendering the whole link, key and script, in a headless browser, as Slack's
    # unfurler would: the page loads and its script runs, but nothing is posted.
    with open_page(browser, user_agent=SLACKBOT) as scanner:
        posts: list[str] = []
        scanner.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        visit(scanner, shared.link)
        scanner.wait_for_load_state("networkidle")
        expect(scanner).to_have_title("A secret was shared with you · Share-secret")
        expect(scanner.get_by_role("button", name=REVEAL)).to_be_visible()
        assert posts == []
    settle(slack)
    assert assert_unchanged(before, snapshot(redis_sync)) == set()

    with open_page(browser) as page:
        visit(page, shared.link)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.locator("#secret")).to_have_value(secret)
        expect(page.locator("#after")).to_have_text(
            "This view has been counted. Copy the secret before you leave the page.")
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)


def test_a_reveal_from_another_origin_is_refused_and_uses_nothing(wsim, slack, web_bot,
                                                                  browser, redis_sync):
    """Reveal POSTs carrying the right key but a forged, missing or other Origin are
    refused (403) before anything is asked of the secret; so is the same page served
    under another name (localhost) in a real browser. The person's reveal then works."""
    secret = new_secret("forged-origin")
    shared = share_outside(wsim, slack, "link", secret=secret)
    assert fetch(web_bot, "GET", shared.path).status == 200  # the audited first opening
    settle(slack)
    before = snapshot(redis_sync)

    for origin in ("https://evil.example", "null", "http://127.0.0.1:1",
                   f"http://localhost:{web_bot.port}", None):
        status, answer = post_reveal(web_bot, shared, origin=origin)
        assert status == 403, origin
        assert answer == {"outcome": "forbidden", "error": "cross-origin request",
                          "message": CROSS_ORIGIN}, origin

    with open_page(browser) as elsewhere:
        visit(elsewhere, f"http://localhost:{web_bot.port}{shared.path}#{shared.key}")
        with elsewhere.expect_response("**/reveal") as refused:
            elsewhere.get_by_role("button", name=REVEAL).click()
        assert refused.value.status == 403
        assert refused.value.request.header_value("origin") == f"http://localhost:{web_bot.port}"
        expect(elsewhere.get_by_role("status")).to_have_text(CROSS_ORIGIN)
        expect(elsewhere.locator("#secret")).to_be_hidden()
    settle(slack)
    assert assert_unchanged(before, snapshot(redis_sync)) == set()

    status, answer = post_reveal(web_bot, shared, origin=web_bot.url)
    assert status == 200
    assert answer["text"] == secret
    assert answer["last_view"] is True
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)
