"""End to end: the real bot process, over HTTP, with a real Redis and the Slack stand-in."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import (
    ALICE,
    AUDIT_CHANNEL,
    BOB,
    CAROL,
    DEPLOYBOT,
    EVE,
    GENERAL,
    METRICS_AUTH,
    audit_lines,
    preformatted,
    redis_contents,
    sent_outside_reveals,
    settle,
    stored_secrets,
    view_text,
)
from tests.project.test_manifest import SCOPES_FOR_CALLS

pytestmark = pytest.mark.e2e

SECRET = "postgres://admin:Tr0ub4dor&3@db.internal:5432/prod"
CODE = re.compile(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")


def share(sim, recipients, *, sender=ALICE, channel=GENERAL, secret=SECRET, expiry=None):
    """Alice types the command, fills the modal and presses Share."""
    command = sim.slash_command(sender, channel)
    assert command.status == 200
    view = sim.opened_view(command.trigger_id)
    reply = sim.submit(sender, view, recipients=recipients, secret=secret, expiry=expiry)
    assert reply.status == 200
    return reply


def test_share_deliver_reveal_then_second_click_refused(sim, slack):
    """The whole flow: share, ephemeral delivery, reveal once in a modal, then refusal."""
    command = sim.slash_command(ALICE, GENERAL, f"<@{BOB}|bob>")
    assert command.status == 200
    assert command.body == b""
    form = sim.opened_view(command.trigger_id)
    assert form["blocks"][0]["element"]["initial_users"] == [BOB]

    assert sim.submit(ALICE, form, recipients=[BOB], secret=SECRET).body == b""
    message, button = sim.reveal_prompt(BOB)
    assert message.ephemeral_to == BOB
    assert message.channel == GENERAL
    assert f"<@{ALICE}>" in message.text
    assert "url" not in button

    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)[0]
    code = CODE.search(receipt.params["text"]).group()
    assert f"<@{BOB}>" in receipt.params["text"]
    assert "expires" in receipt.params["text"]

    click = sim.click(BOB, message, button)
    assert click.status == 200
    shown = sim.shown_view(click.trigger_id)
    assert preformatted(shown) == SECRET
    assert "destroyed" in view_text(shown)
    replaced = slack.wait_for("response_url")[0]
    assert replaced.params["replace_original"] is True
    assert "revealed" in replaced.params["text"]
    assert replaced.context["message_ts"] == message.ts

    slack.wait_for("response_url")
    again = sim.click(BOB, message, button)
    assert "no longer available" in view_text(sim.shown_view(again.trigger_id))

    created, opened = audit_lines(slack, 2)[:2]
    assert "Secret created" in created
    assert code in created
    assert f"<@{BOB}>" in created
    assert "Secret opened" in opened
    assert code in opened


def test_recipient_outside_the_channel_gets_a_dm(sim, slack):
    """Carol is not in #general, so her Reveal message comes as a DM from the bot."""
    share(sim, [CAROL])
    message, _ = sim.reveal_prompt(CAROL)
    assert message.ephemeral_to is None
    assert message.channel.startswith("D")


def test_ephemeral_failure_falls_back_to_a_dm(sim, slack):
    """When Slack refuses the ephemeral message, the recipient gets a DM instead."""
    slack.fail("chat.postEphemeral", error="channel_not_found", times=1)
    share(sim, [BOB])
    message, _ = sim.reveal_prompt(BOB)
    assert message.channel.startswith("D")


def test_non_recipient_is_refused_and_recipient_can_still_reveal(sim, slack):
    """Eve clicking Bob's button is told it isn't hers, audited, and Bob still reveals."""
    share(sim, [BOB])
    message, button = sim.reveal_prompt(BOB)
    eve = sim.click(EVE, message, button)
    assert "not shared with you" in view_text(sim.shown_view(eve.trigger_id))
    texts = audit_lines(slack, 2)
    assert "Access denied" in texts[1]
    assert f"<@{EVE}>" in texts[1]
    bob = sim.click(BOB, message, button)
    assert preformatted(sim.shown_view(bob.trigger_id)) == SECRET


def test_two_recipients_each_reveal_once(sim, slack):
    """Bob and Carol each see the secret once; a second click by either is refused."""
    share(sim, [BOB, CAROL])
    for user in (BOB, CAROL):
        message, button = sim.reveal_prompt(user)
        assert preformatted(sim.shown_view(sim.click(user, message, button).trigger_id)) == SECRET
        slack.wait_for("response_url", where=lambda c, u=user: c.context["user_id"] == u)
        again = sim.click(user, message, button)
        assert "no longer available" in view_text(sim.shown_view(again.trigger_id))
    texts = audit_lines(slack, 4)
    assert "Secret burned" in texts[3]
    assert "last view" in texts[3]


def test_fifty_concurrent_clicks_reveal_exactly_once(sim, slack):
    """50 simultaneous Reveal clicks yield exactly one modal holding the secret."""
    share(sim, [BOB])
    message, button = sim.reveal_prompt(BOB)
    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda _: sim.click(BOB, message, button), range(50)))
    assert all(r.status == 200 for r in replies)
    settle(slack)
    views = [c.params["view"] for c in slack.calls_to("views.open")
             if c.params["trigger_id"] in {r.trigger_id for r in replies}]
    revealed = [v for v in views if any(b["type"] == "rich_text" for b in v["blocks"])]
    assert len(revealed) == 1
    assert preformatted(revealed[0]) == SECRET
    # Clicks while the first was being shown get nothing (it is on screen); later ones
    # get the standard refusal.
    assert all("no longer available" in view_text(v) for v in views if v not in revealed)


def test_bad_signature_and_stale_timestamp_get_401_and_change_nothing(sim, slack, redis_sync):
    """Forged or replayed requests are refused before anything is parsed or stored."""
    command = sim.slash_command(ALICE, GENERAL)
    form = sim.opened_view(command.trigger_id)
    slack.reset()
    wrong = sim_post_submission(sim, form, signing_secret="wrong-secret")
    stale = sim_post_submission(sim, form, timestamp=str(int(time.time()) - 301))
    assert (wrong.status, wrong.json()) == (401, {"error": "invalid request"})
    assert stale.status == 401
    garbage = sim_post_submission(sim, form, timestamp="not-a-number")
    assert garbage.status == 401
    time.sleep(0.2)
    assert stored_secrets(redis_sync) == []
    assert slack.calls_to("chat.postEphemeral") == []
    assert slack.calls_to("chat.postMessage") == []


def sim_post_submission(sim, form, **signing):
    """A share submission signed with the given secret or timestamp."""
    from urllib.parse import urlencode

    payload = {"type": "view_submission", "team": {"id": sim.team_id, "domain": "acme"},
               "user": sim.user_obj(ALICE), "api_app_id": "A0SHARESECRET",
               "trigger_id": "t", "view": {**form, "state": {"values": {
                   "recipients": {"users": {"type": "multi_users_select",
                                            "selected_users": [BOB]}},
                   "secret": {"text": {"type": "plain_text_input", "value": SECRET}},
                   "expiry": {"choice": {"type": "static_select", "selected_option": None}}}}}}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sim.post(body, secret=signing.get("signing_secret"),
                    timestamp=signing.get("timestamp"))


@pytest.mark.parametrize(("recipients", "secret", "expiry", "block", "words"), [
    ([], SECRET, None, "recipients", "at least one"),
    ([BOB, DEPLOYBOT], SECRET, None, "recipients", "deploybot (a bot)"),
    (["U0GONE"], SECRET, None, "recipients", "gone (deactivated)"),
    ([BOB], "   ", None, "secret", "Type or paste"),
    ([BOB], None, None, "secret", "Type or paste"),
    ([BOB], SECRET, "999", "expiry", "Choose one"),
])
def test_invalid_form_input_is_answered_in_the_modal(sim, slack, redis_sync, recipients, secret,
                                                     expiry, block, words):
    """Bad input gets response_action errors on the right block; nothing is stored or sent."""
    command = sim.slash_command(ALICE, GENERAL)
    reply = sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=recipients,
                       secret=secret, expiry=expiry)
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert words in answer["errors"][block]
    time.sleep(0.2)
    assert stored_secrets(redis_sync) == []
    assert not any(c.params.get("channel") == AUDIT_CHANNEL
                   for c in slack.calls_to("chat.postMessage"))


def test_help_answers_privately(sim, slack):
    """`/share-secret help` explains the command instead of opening the form."""
    reply = sim.slash_command(ALICE, GENERAL, "help")
    assert "Reveal" in reply.json()["text"]
    time.sleep(0.2)
    assert slack.calls_to("views.open") == []


def test_no_plaintext_outside_the_reveal_modal(sim, slack, bot, redis_sync):
    """After a full flow, the secret is in no Redis key or value, no log line, and no
    message the bot sent except the reveal modal itself."""
    share(sim, [BOB, CAROL])
    message, button = sim.reveal_prompt(BOB)
    sim.shown_view(sim.click(BOB, message, button).trigger_id)
    sim.click(EVE, message, button)
    audit_lines(slack, 3)
    contents = redis_contents(redis_sync)
    assert contents
    assert not [v for v in contents if SECRET.encode() in v]
    assert SECRET not in bot.log_text()
    assert sent_outside_reveals(slack, SECRET) == []
    # Every method the bot called is one manifest.yml grants a scope for.
    assert {c.method for c in slack.calls} - {"response_url"} <= SCOPES_FOR_CALLS.keys()


def test_health_and_http_edges(bot):
    """/healthz and /readyz answer 200 with Redis up (the reason only to the metrics
    token's bearer); unknown paths 404; oversized bodies 413."""
    assert bot.get("/healthz")[0] == 200
    assert bot.get("/readyz") == (200, b'{"ok": true}')
    assert bot.request("GET", "/readyz", headers=METRICS_AUTH) == \
        (200, b'{"ok": true, "reason": "ok"}')
    assert bot.get("/nope")[0] == 404
    assert bot.get("/slack/events")[0] == 405
    status, _ = bot.request("POST", "/slack/events", b"x" * (600 * 1024),
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413


def test_a_lost_answer_to_the_reveal_modal_never_shows_the_secret_twice(sim, slack):
    """Slack opens the modal but its answer is lost: the bot must not retry or give the
    view back (that would show the secret a second time); it tells the recipient."""
    share(sim, [BOB])
    message, button = sim.reveal_prompt(BOB)
    slack.lose_answers("views.open")
    sim.click(BOB, message, button)
    warning = slack.wait_for("response_url", where=lambda c: "did not confirm" in c.params.get(
        "text", ""))[0]
    assert warning.params["replace_original"] is False
    again = sim.click(BOB, message, button)
    assert "no longer available" in view_text(sim.shown_view(again.trigger_id))
    showing = [c for c in slack.calls_to("views.open") if "rich_text" in json.dumps(c.params)]
    assert len(showing) == 1
    assert "display not confirmed" in "\n".join(audit_lines(slack, 2))


def test_an_expired_trigger_gives_the_view_back(sim, slack):
    """When Slack refuses the modal (expired trigger), nothing was shown: the view is given
    back and the recipient is asked to click again, which then works."""
    share(sim, [BOB])
    message, button = sim.reveal_prompt(BOB)
    slack.fail("views.open", error="expired_trigger_id", times=1)
    sim.click(BOB, message, button)
    slack.wait_for("response_url", where=lambda c: "click" in c.params.get("text", ""))
    again = sim.click(BOB, message, button)
    assert preformatted(sim.shown_view(again.trigger_id)) == SECRET


def test_readyz_reports_redis_down(slack, tmp_path):
    """With Redis unreachable the bot still starts: /healthz (liveness) answers 200 and
    /readyz 503, naming Redis to the metrics token's bearer and in the log."""
    from devtools.harness.bot_process import BotProcess
    from tests.conftest import bot_env

    down = BotProcess(bot_env(slack, "redis://127.0.0.1:1/0"), workdir=tmp_path,
                      ready=lambda: True)
    down.start()
    try:
        deadline = time.monotonic() + 15
        status = 0
        while time.monotonic() < deadline:
            try:
                status = down.get("/healthz")[0]
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        assert down.get("/readyz") == (503, b'{"ok": false}')
        assert down.request("GET", "/readyz", headers=METRICS_AUTH) == (503, json.dumps(
            {"ok": False, "reason": "redis unreachable"}).encode())
        assert "readiness: not ready (redis unreachable)" in down.log_text()
    finally:
        down.stop()
