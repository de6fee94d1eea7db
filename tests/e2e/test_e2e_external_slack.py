"""Sharing outside Slack, the Slack side, end to end: the real bot process with
PUBLIC_URL and SMTP_URL set, over HTTP, with the Slack stand-in and a real Redis.

The form's audience choice, the link shown once in the form (and posted nowhere), the
receipts, list and status naming who a secret is for, and the admins' policy.
"""

from __future__ import annotations

import json
import re

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.slack_client import SlackSim
from devtools.slack_stand_in import blockkit
from tests.conftest import (
    ALICE,
    BOB,
    EVE,
    GENERAL,
    SIGNING_SECRET,
    audit_lines,
    bot_env,
    populate,
    redis_contents,
    sent_outside_reveals,
    settle,
    stored_secrets,
)
from tests.e2e.test_e2e_share_reveal import CODE, SECRET

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://secrets.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/s/([A-Za-z0-9_-]{28})#([A-Za-z0-9_-]{43})")


@pytest.fixture(scope="module")
def external_bot(slack, redis_url, smtp_server, tmp_path_factory):
    env = bot_env(slack, redis_url, PUBLIC_URL=PUBLIC_URL, SMTP_URL=smtp_server.url,
                  MAIL_FROM="share-secret@example.test", ADMIN_USER_IDS=ALICE)
    with BotProcess(env, workdir=tmp_path_factory.mktemp("external-bot")) as process:
        yield process


@pytest.fixture
def xsim(external_bot, slack, redis_sync, smtp):
    slack.reset()
    populate(slack)
    yield SlackSim(bot=external_bot, slack=slack, signing_secret=SIGNING_SECRET)
    settle(slack)
    smtp.refused.clear()


def blocks_of(view) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def open_form(sim, user=ALICE):
    command = sim.slash_command(user, GENERAL)
    assert command.status == 200
    return sim.opened_view(command.trigger_id)


def choose(sim, slack, view, audience, user=ALICE):
    """Choose an audience; the form as the bot drew it again (views.update)."""
    before = len(slack.calls_to("views.update"))
    assert sim.choose(user, view, block_id="audience", value=audience).status == 200
    call = slack.wait_for("views.update", count=before + 1)[-1]
    assert call.ok, call.describe()
    assert call.params["view_id"] == view["id"]
    return dict(call.response["view"])


def home_after_opening(sim, slack, user):
    """The Home tab the bot publishes when `user` opens it."""
    settle(slack)
    published = len([c for c in slack.calls_to("views.publish")
                     if c.params["user_id"] == user])
    sim.open_home(user)
    call = slack.wait_for("views.publish", count=published + 1,
                          where=lambda c: c.params["user_id"] == user)[-1]
    assert call.ok, call.describe()
    return call.params["view"]


def share_with_link(sim, slack, **fields):
    form = choose(sim, slack, open_form(sim), "link")
    return sim.submit(ALICE, form, recipients=None, secret=SECRET, **fields)


def test_the_audience_choice_redraws_the_form(xsim, slack):
    """People in the workspace by default; choosing by email shows an address box and a
    ticked "email the link" box, choosing the link neither, and back again the picker.
    Every other option stays."""
    form = open_form(xsim)
    audience = blocks_of(form)["audience"]
    assert audience["dispatch_action"] is True
    assert [o["value"] for o in audience["element"]["options"]] == ["workspace", "email", "link"]
    assert audience["element"]["initial_option"]["value"] == "workspace"
    assert "recipients" in blocks_of(form)
    others = {"secret", "format", "label", "expiry", "custom_expiry", "views", "total_views",
              "passphrase", "notify"}

    by_email = choose(xsim, slack, form, "email")
    shown = blocks_of(by_email)
    assert others <= shown.keys()
    assert "recipients" not in shown
    assert shown["emails"]["element"]["placeholder"]["text"] == \
        "bob@vendor.com, carol@example.org"
    assert shown["emails"]["element"]["multiline"] is True
    mail = shown["mail_link"]["element"]
    assert mail["initial_options"] == mail["options"]
    assert "Email the link to them" in json.dumps(mail)
    assert shown["audience"]["element"]["initial_option"]["value"] == "email"

    by_link = choose(xsim, slack, by_email, "link")
    assert others <= blocks_of(by_link).keys()
    assert not {"recipients", "emails", "mail_link"} & blocks_of(by_link).keys()

    back = choose(xsim, slack, by_link, "workspace")
    assert "recipients" in blocks_of(back)
    assert not {"emails", "mail_link"} & blocks_of(back).keys()
    assert blockkit.modal_errors(back) == []


def test_a_link_share_shows_the_link_once_and_posts_it_nowhere(xsim, slack, external_bot,
                                                                redis_sync):
    """Share with anyone with the link: the form turns into the link (with the code, who
    it is for, the expiry and the once-only note); no message, log line or Redis value
    holds the link or its key; the sender's receipt names the audience and the code."""
    reply = share_with_link(xsim, slack, label="Staging DB")
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "update"
    view = answer["view"]
    assert blockkit.modal_errors(view) == []
    assert view["title"]["text"] == "Copy the link"
    assert "submit" not in view  # nothing to send back: the link never returns to the bot
    text = json.dumps(view)
    links = LINK.findall(text)
    assert len(links) == 1
    secret_id, key = links[0]
    code = CODE.search(text).group()
    assert secret_id.startswith(code.replace("-", ""))
    assert "anyone with the link" in text
    assert "Expires" in text
    assert "This link is shown only once. It is not posted anywhere." in text

    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)[0]
    assert code in receipt.params["text"]
    assert "anyone with the link" in receipt.params["text"]
    assert "Staging DB" in receipt.params["text"]
    settle(slack)
    assert sent_outside_reveals(slack, "/s/") == []
    assert sent_outside_reveals(slack, key) == []
    assert key not in external_bot.log_text()
    assert not [v for v in redis_contents(redis_sync) if key.encode() in v]
    assert not [v for v in redis_contents(redis_sync) if SECRET.encode() in v]
    # No Reveal message: nobody in Slack was chosen.
    assert xsim.find_prompts(BOB) == []
    created = "\n".join(audit_lines(slack, 1))
    assert "Secret created" in created
    assert "anyone with the link" in created


def test_an_email_share_mails_the_link_to_each_address(xsim, slack, smtp):
    """Share with three addresses, "email the link" left ticked: the link view says it is
    being mailed, each address gets the same link by mail (with the sender's and the
    workspace's names, never the secret), and the receipt names the addresses (the first,
    and how many more). No Slack message holds the link."""
    form = choose(xsim, slack, open_form(xsim), "email")
    reply = xsim.submit(ALICE, form, recipients=None, secret=SECRET, label="Staging DB",
                        emails="bob@vendor.com, carol@example.org\ndan@vendor.com")
    view = reply.json()["view"]
    assert blockkit.modal_errors(view) == []
    [link] = LINK.findall(json.dumps(view))
    assert "emailing the link to bob@vendor.com" in json.dumps(view)
    for address in ("bob@vendor.com", "carol@example.org", "dan@vendor.com"):
        mail = smtp.wait_for(address)
        assert mail.rcpt_tos == (address,)
        assert LINK.findall(mail.text()) == [link]
        assert "alice" in mail.text()
        assert "Staging DB" in mail.text()
        assert SECRET not in mail.raw.decode(errors="replace")
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)[0]
    assert "bob@vendor.com and 2 more" in receipt.params["text"]
    settle(slack)
    assert sent_outside_reveals(slack, "/s/") == []


def test_unticked_the_link_is_not_mailed(xsim, slack, smtp):
    form = choose(xsim, slack, open_form(xsim), "email")
    reply = xsim.submit(ALICE, form, recipients=None, secret=SECRET,
                        emails="bob@vendor.com", mail_link=[])
    view = json.dumps(reply.json()["view"])
    assert len(LINK.findall(view)) == 1
    assert "Copy this link and send it to bob@vendor.com" in view
    slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
    settle(slack)
    assert smtp.messages() == []


def test_a_link_mail_that_fails_is_told_to_the_sender(xsim, slack, smtp):
    """The mail server refuses one address: the sender is told by DM, with the code to
    revoke it (and still no link in Slack)."""
    smtp.refused.add("bob@vendor.com")
    form = choose(xsim, slack, open_form(xsim), "email")
    answer = xsim.submit(ALICE, form, recipients=None, secret=SECRET,
                         emails="bob@vendor.com, carol@example.org").json()
    code = CODE.search(json.dumps(answer)).group()
    smtp.wait_for("carol@example.org")
    told = slack.wait_for("chat.postMessage", where=lambda c: "Couldn't email the link" in
                          c.params.get("text", ""))[0]
    assert slack.landed_in(told) == slack.dm_of(ALICE)
    assert f"/share-secret revoke {code}" in told.params["text"]
    settle(slack)
    assert sent_outside_reveals(slack, "/s/") == []


def test_bad_addresses_are_answered_in_the_form(xsim, slack, redis_sync):
    form = choose(xsim, slack, open_form(xsim), "email")
    answer = xsim.submit(ALICE, form, recipients=None, secret=SECRET,
                         emails="bob@vendor.com, not-an-address").json()
    assert answer["response_action"] == "errors"
    assert "not-an-address" in answer["errors"]["emails"]
    assert stored_secrets(redis_sync) == []


def test_list_status_and_home_show_the_audience(xsim, slack):
    """`list`, `status CODE` and the Home tab (with the admin panel) say who each secret
    is for."""
    code = CODE.search(json.dumps(share_with_link(xsim, slack).json())).group()
    form = choose(xsim, slack, open_form(xsim), "email")
    xsim.submit(ALICE, form, recipients=None, secret=SECRET, emails="bob@vendor.com")
    settle(slack)
    listed = xsim.slash_command(ALICE, GENERAL, "list").json()
    assert "anyone with the link" in json.dumps(listed)
    assert "bob@vendor.com" in json.dumps(listed)
    status = json.dumps(xsim.slash_command(ALICE, GENERAL, f"status {code}").json())
    assert "anyone with the link" in status
    assert "<@link>" not in status
    blocks = json.dumps(home_after_opening(xsim, slack, ALICE)["blocks"])
    assert "anyone with the link" in blocks
    assert "bob@vendor.com" in blocks
    assert "Sharing outside Slack (admin)" in blocks  # Alice is an admin


def test_policy_commands_change_what_is_allowed_and_are_audited(xsim, slack, redis_sync):
    """An admin shows and changes the policy; each change is audited, and shares that
    break it are refused in the form with the reason."""
    shown = xsim.slash_command(ALICE, GENERAL, "admin policy").json()["text"]
    assert "Sharing outside Slack: *on* _(default)_" in shown

    said = xsim.slash_command(ALICE, GENERAL, "admin policy link-passphrase on").json()["text"]
    assert "required" in said
    answer = share_with_link(xsim, slack).json()
    assert answer["response_action"] == "errors"
    assert "passphrase" in answer["errors"]["passphrase"]
    assert share_with_link(xsim, slack, passphrase="correct horse").json()[
        "response_action"] == "update"

    xsim.slash_command(ALICE, GENERAL, "admin policy domains vendor.com")
    form = choose(xsim, slack, open_form(xsim), "email")
    answer = xsim.submit(ALICE, form, recipients=None, secret=SECRET,
                         emails="bob@vendor.com, eve@elsewhere.org").json()
    assert "vendor.com" in answer["errors"]["emails"]
    assert "eve@elsewhere.org" in answer["errors"]["emails"]

    xsim.slash_command(ALICE, GENERAL, "admin policy max-expiry 1h")
    answer = share_with_link(xsim, slack, passphrase="correct horse").json()
    assert "at most" in answer["errors"]["expiry"]  # the default 24 hours is too long

    stale = open_form(xsim)  # drawn while sharing outside Slack is still on
    off = xsim.slash_command(ALICE, GENERAL, "admin policy external off").json()["text"]
    assert "*off*" in off
    assert "audience" not in blocks_of(open_form(xsim))
    stale_link = choose(xsim, slack, stale, "link")
    answer = xsim.submit(ALICE, stale_link, recipients=None, secret=SECRET).json()
    assert "turned off" in answer["errors"]["audience"]

    lines = "\n".join(audit_lines(slack, 5))  # four changes and the passphrase share
    assert "Settings changed" in lines
    for change in ("link secrets need a passphrase", "email domains: vendor.com",
                   "longest expiry of external secrets: 1 hour",
                   "sharing outside Slack off"):
        assert change in lines, lines
    assert "nothing was changed" in xsim.slash_command(
        ALICE, GENERAL, "admin policy external off").json()["text"]


def test_policy_input_that_is_not_a_setting_is_explained(xsim):
    for text, words in [("admin policy domains not_a_domain", "separated by commas"),
                        ("admin policy max-expiry 90d", "from 5m to 30d"),
                        ("admin policy external maybe", "`on` or `off`"),
                        ("admin policy colour blue", "admin policy external on|off")]:
        assert words in xsim.slash_command(ALICE, GENERAL, text).json()["text"], text


def test_non_admins_cannot_change_the_policy(xsim, slack):
    """Eve is refused, the attempt is audited, and the policy stays as it was."""
    answer = xsim.slash_command(EVE, GENERAL, "admin policy external off").json()
    assert "Only share-secret admins" in answer["text"]
    denied = "\n".join(audit_lines(slack, 1))
    assert "Access denied" in denied
    assert f"<@{EVE}>" in denied
    assert "*on*" in xsim.slash_command(ALICE, GENERAL, "admin policy").json()["text"]
    assert "audience" in blocks_of(open_form(xsim, user=EVE))


def test_the_admin_panel_edits_the_policy(xsim, slack):
    """Edit policy on the admin panel opens the form; saving it changes the policy and
    is audited. Eve, not an admin, gets no form."""
    home = home_after_opening(xsim, slack, ALICE)
    edit = next((b.get("block_id"), b["accessory"]) for b in home["blocks"]
                if b.get("accessory", {}).get("action_id") == "admin_edit_policy")
    click = xsim.click_home(ALICE, edit[1], block_id=edit[0] or "")
    form = xsim.opened_view(click.trigger_id)
    assert form["callback_id"] == "external_policy"
    bad = xsim.submit_form(ALICE, form, {
        "domains": {"text": {"type": "plain_text_input", "value": "not a domain!"}}}).json()
    assert bad["response_action"] == "errors"
    assert "domains" in bad["errors"]
    ticked = blocks_of(form)["external"]["element"]["options"]
    saved = xsim.submit_form(ALICE, form, {
        "external": {"choice": {"type": "checkboxes", "selected_options": ticked}},
        "domains": {"text": {"type": "plain_text_input", "value": "Vendor.com, example.org"}},
        "link_passphrase": {"choice": {"type": "checkboxes", "selected_options": []}},
        "max_expiry": {"text": {"type": "plain_text_input", "value": "3d"}}})
    assert saved.status == 200
    assert saved.body == b""
    shown = xsim.slash_command(ALICE, GENERAL, "admin policy").json()["text"]
    assert "vendor.com, example.org" in shown
    assert "3 days" in shown
    assert "email domains: vendor.com, example.org" in "\n".join(audit_lines(slack, 2))

    assert "admin_edit_policy" not in json.dumps(home_after_opening(xsim, slack, EVE))
    # A forged click (the button is not on her Home tab) opens nothing, and is audited.
    forged = xsim.click_home(EVE, edit[1], block_id=edit[0] or "")
    dm = slack.wait_for("chat.postMessage", where=lambda c: "Only share-secret admins" in
                        c.params.get("text", ""))[0]
    assert dm.params["channel"] == slack.dm_of(EVE)
    assert not [c for c in slack.calls_to("views.open")
                if c.params.get("trigger_id") == forged.trigger_id]
    # (Alice's look at the panel, her change, and the refusal)
    assert "policy form by a non-admin" in "\n".join(audit_lines(slack, 3))


def test_without_public_url_only_people_in_the_workspace_are_offered(sim, slack):
    """The session's bot has no PUBLIC_URL: the form has no audience choice."""
    form = open_form(sim)
    assert "audience" not in blocks_of(form)
    assert "recipients" in blocks_of(form)


def test_a_secret_typed_before_the_audience_is_chosen_goes_nowhere(xsim, slack, external_bot,
                                                                   redis_sync):
    """Choosing the audience sends Slack's whole form state, the secret typed so far with
    it: the redraw keeps none of it, and no log line, Redis value or Slack call holds it."""
    typed = "typed-before-choosing-0b6f2d"
    before = len(slack.calls_to("views.update"))
    reply = xsim.choose(ALICE, open_form(xsim), block_id="audience", value="link",
                        typed={"secret": typed, "label": "Vendor key"})
    assert reply.status == 200
    redrawn = slack.wait_for("views.update", count=before + 1)[-1]
    assert redrawn.ok, redrawn.describe()
    settle(slack)
    assert sent_outside_reveals(slack, typed) == []
    assert typed not in external_bot.log_text()
    assert not [v for v in redis_contents(redis_sync) if typed.encode() in v]
