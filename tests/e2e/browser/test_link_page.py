"""A secret for anyone with the link, in a real browser: Alice shares it through the real
form, the link comes from the form's answer, and Chromium opens it against the real bot.

Reveal, Copy, the key leaving the address bar, the last-view note, a second open; a
passphrase asked for on the page; a revoke while the page is open.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devtools.harness.browser import open_page
from tests.conftest import ALICE, GENERAL, sent_outside_reveals, settle
from tests.e2e.browser.sharing import (
    GONE_HEADING,
    GONE_TITLE,
    REVEAL,
    assert_kept_nowhere,
    new_secret,
    share_outside,
    visit,
)

pytestmark = pytest.mark.e2e


def test_a_link_shared_in_slack_opens_once_in_the_browser(wsim, slack, web_bot, browser,
                                                          redis_sync):
    """The inert page names the sender, the workspace and the label; Reveal shows the
    secret read-only, with the last-view note; Copy puts it on the clipboard; the key is
    gone from the address bar; Alice gets a receipt; opening the link again says gone."""
    secret = new_secret("staging-db")
    shared = share_outside(wsim, slack, "link", secret=secret, label="Staging DB")
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
    assert shared.code in receipt[0].params["text"]
    settle(slack)
    # Shown once, in the form's answer: no call the bot made to Slack carries the link.
    assert sent_outside_reveals(slack, "/s/") == []

    with open_page(browser) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                       origin=web_bot.url)
        assert visit(page, shared.link).status == 200
        expect(page).to_have_title("alice shared a secret with you · Share-secret")
        expect(page.locator(".from")).to_have_text(
            "From alice in the Acme Slack workspace.")
        expect(page.locator(".label")).to_contain_text("Staging DB")
        expect(page.locator(".expiry")).to_contain_text("It expires in 23 hours")
        # Read once, then dropped from the address bar (and so from the history).
        assert page.url == shared.page_url
        assert page.evaluate("location.hash") == ""
        secret_box = page.locator("#secret")
        expect(secret_box).to_be_hidden()

        page.get_by_role("button", name=REVEAL).click()
        expect(secret_box).to_be_visible()
        expect(secret_box).to_have_value(secret)
        expect(secret_box).not_to_be_editable()
        expect(secret_box).to_be_focused()
        expect(page.locator("#after")).to_have_text(
            "That was the last view: this link will not open it again. Copy it now, "
            "before you leave the page.")
        expect(page.get_by_role("button", name=REVEAL)).to_be_hidden()

        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("status")).to_have_text("Copied to the clipboard.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert page.url == shared.page_url

    dm = slack.wait_for("chat.postMessage",
                        where=lambda c: slack.landed_in(c) == slack.dm_of(ALICE))[0]
    assert dm.params["text"] == (f":eyes: Someone with the link opened *Staging DB* "
                                 f"(`{shared.code}`) on the web page from 127.0.0.1. That "
                                 "was its last view: it is gone now.")

    with open_page(browser) as again:  # the same link, opened again
        assert visit(again, shared.link).status == 404
        expect(again).to_have_title(GONE_TITLE)
        expect(again.get_by_role("heading", level=1)).to_have_text(GONE_HEADING)
        expect(again.get_by_role("button", name=REVEAL)).to_have_count(0)
        assert secret not in again.content()
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)


def test_the_page_asks_for_the_passphrase(wsim, slack, web_bot, browser, redis_sync):
    """A secret with a passphrase: the page asks for it; a wrong one is refused, with the
    tries left, and uses nothing; the right one reveals."""
    secret, passphrase = new_secret("api-token"), new_secret("passphrase")
    wrong = new_secret("guess")
    shared = share_outside(wsim, slack, "link", secret=secret, passphrase=passphrase)

    with open_page(browser) as page:
        page.goto(shared.link)
        passphrase_box = page.get_by_label("Passphrase")
        expect(passphrase_box).to_be_visible()
        expect(passphrase_box).to_have_attribute("type", "password")

        passphrase_box.fill(wrong)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.get_by_role("status")).to_have_text(
            "That passphrase is not right. 4 more tries before the secret is locked for "
            "30 minutes.")
        expect(passphrase_box).to_have_value("")
        expect(passphrase_box).to_be_focused()
        expect(page.locator("#secret")).to_be_hidden()

        passphrase_box.fill(passphrase)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.locator("#secret")).to_have_value(secret)
        expect(page.locator("#after")).to_contain_text("That was the last view")
        expect(passphrase_box).to_have_value("")
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret, passphrase, wrong)


def test_a_secret_revoked_while_its_page_is_open_is_gone(wsim, slack, web_bot, browser,
                                                         redis_sync):
    """The page is open, Alice revokes the secret in Slack, then Reveal: the page turns
    into the "no longer available" one, and the secret never reaches the browser."""
    secret = new_secret("revoked")
    shared = share_outside(wsim, slack, "link", secret=secret)

    with open_page(browser) as page:
        page.goto(shared.link)
        reveal = page.get_by_role("button", name=REVEAL)
        expect(reveal).to_be_visible()

        said = wsim.slash_command(ALICE, GENERAL, f"revoke {shared.code}").json()
        assert f"Revoked `{shared.code}`" in said["text"], said

        with page.expect_response(f"**{shared.path}/reveal") as answer:
            reveal.click()
        assert answer.value.status == 404
        assert secret not in answer.value.text()
        expect(page.get_by_role("heading", level=1)).to_have_text(GONE_HEADING)
        expect(page.get_by_role("heading", level=1)).to_be_focused()
        expect(page).to_have_title(GONE_TITLE)
        expect(page.locator("#secret")).to_have_count(0)
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)
