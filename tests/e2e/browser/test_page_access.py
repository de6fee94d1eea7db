"""The page for everyone: the keyboard alone (Tab and Enter), a phone-width screen, and a
browser with JavaScript off, in a real Chromium against the real bot."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from devtools.harness.browser import open_page
from tests.conftest import settle
from tests.e2e.browser.sharing import (
    CODE_IN_MAIL,
    REVEAL,
    assert_kept_nowhere,
    new_secret,
    share_outside,
    visit,
)

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


def focused(page: Page) -> str:
    """What has the keyboard focus: the element's id, or its tag name."""
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def tab_to(page: Page, element_id: str, *, most: int = 12) -> list[str]:
    """Press Tab until `element_id` has the focus (AssertionError after `most` presses);
    what had the focus on the way. The focus must be visible where it lands."""
    passed: list[str] = []
    while focused(page) != element_id:
        assert len(passed) < most, f"{element_id} not reached with Tab: {passed}"
        page.keyboard.press("Tab")
        passed.append(focused(page))
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", f"no visible focus on {element_id}"
    return passed


def test_a_link_secret_is_revealed_and_copied_with_the_keyboard(wsim, slack, web_bot,
                                                                 browser, redis_sync):
    """Tab reaches Reveal, Enter reveals; the focus moves to the secret; Tab reaches
    Copy, Enter copies."""
    secret = new_secret("keyboard")
    shared = share_outside(wsim, slack, "link", secret=secret)
    with open_page(browser) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                       origin=web_bot.url)
        visit(page, shared.link)
        tab_to(page, "reveal")
        page.keyboard.press("Enter")
        expect(page.locator("#secret")).to_have_value(secret)
        assert focused(page) == "secret"
        assert tab_to(page, "copy") == ["copy"]  # the very next stop
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text("Copied to the clipboard.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)


def test_an_email_secret_is_revealed_with_the_keyboard(wsim, slack, web_bot, browser, smtp,
                                                       redis_sync):
    """Tab to the address, type it, Enter; the focus moves to the code field; type the
    mailed code, Enter: the secret."""
    secret = new_secret("keyboard-mail")
    shared = share_outside(wsim, slack, "email", secret=secret, emails="bob@vendor.com",
                           mail_link=[])
    with open_page(browser) as page:
        visit(page, shared.link)
        tab_to(page, "email")
        page.keyboard.type("bob@vendor.com")
        page.keyboard.press("Enter")
        expect(page.locator("#code")).to_be_focused()
        code = CODE_IN_MAIL.findall(smtp.wait_for(to="bob@vendor.com").text())
        assert len(code) == 1
        page.keyboard.type(code[0])
        page.keyboard.press("Enter")
        expect(page.locator("#secret")).to_have_value(secret)
        expect(page.locator("#secret")).to_be_focused()
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret, code[0])


def width_laid_out(page: Page) -> int:
    """How wide the page is laid out: wider than the screen, it scrolls sideways (a phone
    browser widens its layout viewport to fit what overflows, so both are measured)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, window.innerWidth)")


def test_the_page_fits_a_phone(wsim, slack, browser):
    """At 375 px, with a long unbroken label and a long one-line secret, nothing makes the
    page scroll sideways, before or after Reveal (the secret's field scrolls itself)."""
    secret = new_secret("x" * 300)
    label = "ProductionDatabaseCredentialsForTheEuWest1ClusterReadWrite"
    shared = share_outside(wsim, slack, "link", secret=secret, label=label)
    with open_page(browser, **PHONE) as page:
        visit(page, shared.link)
        expect(page.locator(".label")).to_contain_text(label)
        assert width_laid_out(page) == 375
        reveal = page.get_by_role("button", name=REVEAL)
        box = reveal.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 375
        assert box["height"] >= 44  # big enough to tap

        reveal.tap()
        expect(page.locator("#secret")).to_have_value(secret)
        assert width_laid_out(page) == 375
        field = page.locator("#secret").bounding_box()
        assert field is not None
        assert field["x"] + field["width"] <= 375


def test_without_javascript_the_page_says_what_to_do_and_uses_nothing(wsim, slack, web_bot,
                                                                      browser, redis_sync):
    """JavaScript off: the page says plainly that it needs JavaScript and that nothing was
    used, and offers no Reveal; the secret then opens in a browser with it on."""
    secret = new_secret("no-script")
    shared = share_outside(wsim, slack, "link", secret=secret, label="Staging DB")
    with open_page(browser, java_script_enabled=False) as page:
        assert visit(page, shared.link).status == 200
        # (Playwright's text queries skip <noscript>: found by its class.)
        expect(page.locator(".notice")).to_be_visible()
        expect(page.locator(".notice")).to_have_text(
            "This page needs JavaScript to reveal the secret. Nothing has been used: turn "
            "JavaScript on for this page and reload it, or open the link in a browser where "
            "JavaScript is on.")
        expect(page.locator(".label")).to_contain_text("Staging DB")
        expect(page.get_by_role("button", name=REVEAL)).to_be_hidden()
        assert secret not in page.content()

    with open_page(browser) as page:
        visit(page, shared.link)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.locator("#secret")).to_have_value(secret)
        expect(page.locator("#after")).to_contain_text("That was the last view")
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)
