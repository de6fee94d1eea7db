"""A secret for email recipients, in a real browser, with real mail: Alice shares it with
bob@vendor.com through the real form, the link mail reaches the tests' SMTP server, and
Bob proves his address with the code mailed to it.

A stranger who types another address is answered the same, and gets no mail.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from devtools.harness.browser import open_page
from tests.conftest import AUDIT_CHANNEL, settle
from tests.e2e.browser.sharing import (
    CODE_IN_MAIL,
    LINK,
    MAIL_FROM,
    REVEAL,
    assert_kept_nowhere,
    assert_not_mailed,
    new_secret,
    share_outside,
    visit,
)

pytestmark = pytest.mark.e2e

BOB = "bob@vendor.com"
STRANGER = "mallory@elsewhere.example"
CODE_SENT = ("If the secret was shared with this address, a code is on its way to it. Type "
             "it below when it arrives (look in the spam folder too).")


def ask_for_code(page: Page, address: str) -> tuple[int, str]:
    """Type `address` and press "Email me a code"; the answer's status and body."""
    page.get_by_label("Your email address").fill(address)
    with page.expect_response("**/code") as answer:
        page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_role("status")).to_have_text(CODE_SENT)
    return answer.value.status, answer.value.text()


def test_an_email_recipient_reveals_with_the_code_mailed_to_him(wsim, slack, web_bot,
                                                                browser, smtp, redis_sync):
    """The link mail (the link, never the secret) arrives; Bob opens the link from it,
    types his address, gets a code mail, mistypes the code once, then types it and sees
    the secret."""
    secret = new_secret("vendor-api-key")
    shared = share_outside(wsim, slack, "email", secret=secret, emails=BOB,
                           label="Vendor API key")

    link_mail = smtp.wait_for(to=BOB)
    assert link_mail.mail_from == MAIL_FROM
    assert link_mail.message["Subject"] == "A secret was shared with you"
    assert LINK.findall(link_mail.text()) == [shared.link]
    assert shared.link in link_mail.html()
    assert "Vendor API key" in link_mail.text()

    with open_page(browser) as page:
        assert visit(page, LINK.findall(link_mail.text())[0]).status == 200
        expect(page.locator(".label")).to_contain_text("Vendor API key")
        assert page.url == shared.page_url
        code_box = page.get_by_label("Code from the email")
        expect(code_box).to_be_hidden()  # until a code was asked for

        assert ask_for_code(page, BOB)[0] == 200
        expect(code_box).to_be_focused()
        code_mail = smtp.wait_for(to=BOB, count=2)
        assert code_mail.message["Subject"] == "Your one-time code"
        code = CODE_IN_MAIL.findall(code_mail.text())
        assert len(code) == 1, code_mail.text()
        code = code[0]
        assert code in code_mail.html()
        assert shared.key not in code_mail.text()

        wrong = "".join(str((int(digit) + 1) % 10) for digit in code)
        code_box.fill(wrong)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.get_by_role("status")).to_have_text(
            "That code is not right. 4 more tries before it stops working.")
        expect(code_box).to_have_value("")
        expect(page.locator("#secret")).to_be_hidden()

        code_box.fill(code)
        page.get_by_role("button", name=REVEAL).click()
        expect(page.locator("#secret")).to_have_value(secret)
        expect(page.locator("#after")).to_contain_text("That was the last view")

    assert len(smtp.messages()) == 2  # the link and one code, both to Bob
    settle(slack)
    assert_not_mailed(smtp, secret)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret, code)


def test_a_stranger_is_answered_the_same_and_gets_no_mail(wsim, slack, web_bot, browser,
                                                          smtp, redis_sync):
    """An address not on the list gets the answer a listed one gets (to the byte, but for
    each request's random ticket), and the same page; no code is mailed to it (Bob, asking
    after the stranger, gets his)."""
    secret = new_secret("vendor-password")
    shared = share_outside(wsim, slack, "email", secret=secret, emails=BOB,
                           mail_link=[])  # "email the link" unticked: only codes are mailed
    with open_page(browser) as stranger, open_page(browser) as bob:
        visit(stranger, shared.link)
        visit(bob, shared.link)
        stranger_answer = ask_for_code(stranger, STRANGER)
        bob_answer = ask_for_code(bob, BOB)
        # The same to the byte but for each request's own ticket (random, as long).
        (stranger_status, stranger_body), (bob_status, bob_body) = stranger_answer, bob_answer
        stranger_json, bob_json = json.loads(stranger_body), json.loads(bob_body)
        assert len(stranger_json.pop("ticket")) == len(bob_json.pop("ticket"))
        assert (stranger_status, stranger_json) == (bob_status, bob_json)
        assert stranger_status == 200
        for page in (stranger, bob):
            expect(page.get_by_label("Code from the email")).to_be_visible()
            page.get_by_label("Your email address").fill("")  # only what was said differs
        assert stranger.inner_text("main") == bob.inner_text("main")

    smtp.wait_for(to=BOB)
    # Admins are told, in the audit channel, with the address masked.
    denied = slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] ==
                            AUDIT_CHANNEL and "not on the list" in c.params["text"])
    assert "asked for a code for m******@elsewhere.example" in denied[0].params["text"]
    assert STRANGER not in denied[0].params["text"]
    settle(slack)
    assert smtp.messages(to=STRANGER) == []
    assert [m.rcpt_tos for m in smtp.messages()] == [(BOB,)]
    assert_not_mailed(smtp, secret)
    # Nor is the stranger's address kept: the audit masks it, and nothing else holds it.
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret, STRANGER)
