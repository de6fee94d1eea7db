"""Rendering stays within Slack's Block Kit limits and escapes what people type."""

from __future__ import annotations

import json
import time

import pytest

from bot import render
from bot.domain import Audience, SecretRecord, Status, ViewState
from bot.handlers.share_modal import parse_share_form
from bot.options import ViewLimit, ViewMode
from devtools.slack_stand_in import blockkit

MANY = tuple(f"U{i:08}" for i in range(128))


def record(**changes) -> SecretRecord:
    values = {"secret_id": "x" * 22, "code": "ABCD-EFGH-JKMN", "team_id": "T1",
              "sender_id": "U0ALICE", "recipients": MANY, "created_at": time.time(),
              "expires_at": time.time() + 3600, "label": "&" * 150, "has_passphrase": True,
              "view_limit": ViewLimit(ViewMode.EACH_ONCE)}
    values.update(changes)
    return SecretRecord(**values)


def section_texts(message) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"] + [
        b["text"]["text"] for b in message["blocks"]
        if b["type"] == "section" and "text" in b]


def test_share_modal_fits_a_modal():
    """The share form: title and buttons ≤ 24 characters, ≤ 100 blocks, metadata ≤ 3000."""
    view = render.share_modal(initial_users=MANY, origin_channel="C0GENERAL",
                              requested_by="U1", request_reason="<!channel> please")
    assert len(view["blocks"]) <= 100
    for key in ("title", "submit", "close"):
        assert len(view[key]["text"]) <= 24
    assert len(view["private_metadata"]) <= 3000
    assert "<!channel>" not in json.dumps(view)


@pytest.mark.parametrize("message", [
    render.sender_confirmation(record(), failed=MANY[:64]),
    render.secret_status(record(views={u: ViewState.VIEWED for u in MANY},
                                viewed_at={u: time.time() for u in MANY}), now=time.time()),
    render.secret_list([record(secret_id=f"{i:022}") for i in range(50)], now=time.time()),
    render.expired_notice(record(status=Status.EXPIRED)),
    render.reminder_notice(record(), now=time.time()),
    render.reveal_prompt(record()),
])
def test_messages_fit_slacks_limits_with_128_recipients(message):
    """With 128 recipients and a 150-character label, every section stays ≤ 3000
    characters and a message ≤ 50 blocks."""
    assert len(message["blocks"]) <= 50
    assert all(len(text) <= 3000 for text in section_texts(message))


def test_labels_are_escaped_everywhere():
    """A label typed as `<!channel>` cannot ping anyone in any message."""
    loud = record(label="<!channel> <@U0EVE> &", recipients=("U0BOB",))
    for message in (render.sender_confirmation(loud), render.reveal_prompt(loud),
                    render.secret_status(loud, now=time.time()),
                    render.expired_notice(loud)):
        dumped = json.dumps(message)
        assert "<!channel>" not in dumped
        assert "<@U0EVE>" not in dumped


def test_request_button_value_fits_with_any_reason():
    """However long or exotic the reason, the Share it button's value is ≤ 2000."""
    message = render.request_message(requester="U0ALICE", reason="\U0001d530\U0001d522" * 300)
    button = message["blocks"][1]["elements"][0]
    assert len(button["value"]) <= 2000
    assert json.loads(button["value"])["to"] == "U0ALICE"


@pytest.mark.parametrize("body", [
    {}, {"view": []}, {"view": {"state": "x"}}, {"view": {"state": {"values": []}}},
    {"view": {"state": {"values": {"recipients": {"users": {"selected_users": "U1"}}}}}},
    {"view": {"private_metadata": "not json"}, "user": "U1"},
])
def test_malformed_submissions_parse_to_an_empty_form(body):
    """Odd payload shapes never raise: they become empty fields for validation to name."""
    form = parse_share_form(body, team_id="T1")
    assert form.recipients == ()
    assert form.text is None


def test_after_view_wording_follows_the_mode():
    """The reveal modal says what happens next, per view mode."""
    assert "last view" in render.reveal.after_view("each", 0)
    assert "one view" in render.reveal.after_view("each", 3)
    assert "2 views left" in render.reveal.after_view("total", 2)
    assert "again" in render.reveal.after_view("unlimited", None)


def test_quota_messages_say_what_is_held_and_that_nothing_was_shared():
    """Each cap's refusal names what is held against which cap, in words, and how room
    comes back; plain text, short enough for a form's error."""
    from bot.errors import QuotaExceeded

    cases = [
        (QuotaExceeded("sender", "secrets", cap=200, held_secrets=200, held_bytes=90_000),
         "You have 200 active secrets, the most allowed. Nothing was shared"),
        (QuotaExceeded("sender", "bytes", cap=5 << 20, held_secrets=180,
                       held_bytes=5_200_000, kept_days=90),
         "Your secrets take up 5 MB of the 5 MB allowed (active ones, and the records of "
         "ended ones, kept for 90 days), and this one doesn't fit"),
        (QuotaExceeded("workspace", "secrets", cap=10_000, held_secrets=10_000,
                       held_bytes=1),
         "This workspace has 10,000 active secrets, the most allowed. Nothing was shared"),
        (QuotaExceeded("workspace", "bytes", cap=200 << 20, held_secrets=9,
                       held_bytes=(200 << 20) - 100),
         "This workspace's secrets take up 200 MB of the 200 MB allowed (active ones, "
         "and the records of ended ones, kept for a while)"),
    ]
    for over, start in cases:
        text = render.share_over_quota(over)
        assert text.startswith(start), text
        assert "Nothing was shared" in text
        assert len(text) < 300
        assert "<" not in text
    assert [render.size(n) for n in (980, 12_000, 1_500_000, 29_413, 3 << 30)] == \
        ["980 bytes", "12 KB", "1.4 MB", "29 KB", "3 GB"]
    assert render.share_over_quota(cases[0][0]).endswith(
        "revoke ones that are no longer needed (/share-secret list), or wait until they "
        "are read or expire.")


EMAILS = tuple(f"mailto:person{i}@{'v' * 40}.example.com" for i in range(64))


@pytest.mark.parametrize("audience", list(Audience))
def test_the_share_form_fits_for_every_audience(audience):
    """Each audience's form passes the stand-in's Block Kit checks, with 128 people
    picked and a request's reason kept for the redraw."""
    state = render.ShareFormState(origin_channel="C0GENERAL", initial_users=MANY,
                                  requested_by="U1", request_reason="<!channel> " + "é" * 150,
                                  audiences=tuple(Audience))
    view = render.share_form(state, audience=audience)
    assert blockkit.modal_errors(view) == []
    assert "<!channel>" not in json.dumps(view)
    assert render.ShareFormState.from_metadata(view["private_metadata"]) == state


@pytest.mark.parametrize(("recipients", "audience"), [
    (("link",), Audience.LINK), (EMAILS, Audience.EMAIL)])
def test_the_link_view_shows_the_link_once_and_fits(recipients, audience):
    url = "https://secrets.example.test/s/" + "A" * 28 + "#" + "k" * 43
    view = render.link_modal(record(recipients=recipients, audience=audience), url=url,
                             mailing=audience is Audience.EMAIL)
    assert blockkit.modal_errors(view) == []
    assert json.dumps(view).count("k" * 43) == 1
    assert "This link is shown only once. It is not posted anywhere." in json.dumps(view)
    receipt = render.sender_confirmation(record(recipients=recipients, audience=audience))
    assert "/s/" not in json.dumps(receipt)
    assert all(len(text) <= 3000 for text in section_texts(receipt))


def test_a_submission_names_its_audience_addresses_and_mail_choice():
    """The audience, the addresses as typed and the "email the link" box are read back;
    a form without the choice (drawn before it existed) shares in the workspace, and
    an unknown audience value reads as the workspace too."""
    view = render.share_form(render.ShareFormState(audiences=tuple(Audience)),
                             audience=Audience.EMAIL)
    values = {"audience": {"share_audience": {"type": "radio_buttons",
                                              "selected_option": {"value": "email"}}},
              "emails": {"text": {"type": "plain_text_input", "value": "a@b.com\nc@d.org"}},
              "mail_link": {"choice": {"type": "checkboxes", "selected_options": []}}}
    body = {"user": {"id": "U1"}, "view": {**view, "state": {"values": values}}}
    form = parse_share_form(body, team_id="T1")
    assert (form.audience, form.emails, form.mail_link) == (Audience.EMAIL,
                                                            "a@b.com\nc@d.org", False)
    del values["mail_link"]
    assert parse_share_form(body, team_id="T1").mail_link is True
    values["audience"]["share_audience"]["selected_option"] = {"value": "everyone"}
    assert parse_share_form(body, team_id="T1").audience is Audience.WORKSPACE
    del values["audience"]
    assert parse_share_form(body, team_id="T1").audience is Audience.WORKSPACE


def test_an_api_token_is_named_as_a_token_in_the_audit_log_and_messages() -> None:
    from bot.domain import api_principal, api_token_name, is_slack_user
    from bot.render.blocks import who

    principal = api_principal("T0KEN1D", "deploy-bot")
    assert api_token_name(principal) == "deploy-bot"
    assert not is_slack_user(principal)
    assert who(principal) == "API token *deploy-bot*"
    assert who(api_principal("T0KEN1D", "<!channel>")) == "API token *&lt;!channel&gt;*"
    assert api_token_name("U0123ABCD") is None
    assert api_token_name("api:") is None


def test_the_command_line_is_named_in_words_and_api_token_lines_name_the_token() -> None:
    from bot.api.tokens import CLI_ACTOR, ApiToken
    from bot.audit import events
    from bot.render import audit_line
    from bot.render.blocks import who

    assert who(CLI_ACTOR) == "the command line"
    token = ApiToken(token_id="7KQMX4PD", team_id="T1", name="deploy-bot",
                     created_at=1.0, created_by=CLI_ACTOR, receipts_to="C0DEPLOYS")
    created = audit_line(events.api_token_created(token, at=2.0, actor=CLI_ACTOR))
    assert created.startswith(":robot_face: *API token created* by the command line "
                              "(deploy-bot, id 7KQMX4PD; receipts to C0DEPLOYS)")
    revoked = audit_line(events.api_token_revoked(token, at=2.0, actor="U0ADMIN",
                                                  never_shown=True))
    assert revoked.startswith(":robot_face: *API token revoked* by <@U0ADMIN> (deploy-bot, "
                              "id 7KQMX4PD; Slack could not show it, so it was revoked at once)")
