"""Lifecycle end to end: the real ASGI app over real HTTP, the Slack stand-in, real Redis,
and a clock the tests move (the app runs in this process so that time can be controlled)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    EVE,
    GENERAL,
    audit_lines,
    preformatted,
    redis_contents,
    sent_outside_reveals,
    settle,
    stored_secrets,
)

pytestmark = pytest.mark.e2e

SECRET = '{"user": "deploy", "password": "hunter2-but-longer"}'


def share(sim, recipients, *, channel=GENERAL, secret=SECRET, **fields):
    command = sim.slash_command(ALICE, channel)
    view = sim.opened_view(command.trigger_id)
    reply = sim.submit(ALICE, view, recipients=recipients, secret=secret, **fields)
    assert reply.status == 200
    assert reply.body == b"", reply.body
    settle(sim.slack)  # delivery done: prompts sent, their places noted, receipt sent
    return view


def unlock_form(sim) -> dict:
    """Bob clicks Reveal on a secret locked with a passphrase: the form Slack opened."""
    message, button = sim.reveal_prompt(BOB)
    return sim.opened_view(sim.click(BOB, message, button).trigger_id)


def texts_to(slack, user):
    """Every message text the bot sent to a user's DM."""
    dms = {slack.dm_of(user)} - {None}  # opened now, or remembered by the bot
    return [c.params.get("text", "") for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") in dms]


def test_form_offers_every_option(sim):
    """The share form has recipients, secret, format, label, expiry, views, passphrase."""
    command = sim.slash_command(ALICE, GENERAL)
    blocks = {b.get("block_id") for b in sim.opened_view(command.trigger_id)["blocks"]}
    assert {"recipients", "secret", "format", "label", "expiry", "custom_expiry", "views",
            "total_views", "passphrase", "notify"} <= blocks


def test_label_format_and_shared_views(sim, slack):
    """A labelled JSON secret with 2 shared views: shown tidied, receipts name the label."""
    share(sim, [BOB], format="json", label="Deploy creds <!channel>", views="total",
          total_views="2")
    message, button = sim.reveal_prompt(BOB)
    assert "Deploy creds &lt;!channel&gt;" in json.dumps(message.blocks)
    assert "2 views in all" in json.dumps(message.blocks)
    shown = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert preformatted(shown) == json.dumps(json.loads(SECRET), indent=2)
    receipt = slack.wait_for("chat.postMessage", where=lambda c: "viewed" in c.params.get(
        "text", ""))[0]
    assert f"<@{BOB}> viewed *Deploy creds &lt;!channel&gt;*" in receipt.params["text"]
    assert "(1 of 2 views)" in receipt.params["text"]


def test_invalid_json_is_refused_in_the_form(sim, redis_sync):
    """Bad JSON is answered on the secret field with the line, and nothing is stored but
    the sender's share-limit window (a refused format counts as a share)."""
    command = sim.slash_command(ALICE, GENERAL)
    reply = sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB],
                       secret='{"a": 1,,}', format="json")
    assert "line 1" in reply.json()["errors"]["secret"]
    assert stored_secrets(redis_sync) == [f"ss:rate:share:{{T0ACME:{ALICE}}}".encode()]


def test_passphrase_flow(sim, slack):
    """Reveal asks for the passphrase; the form is answered at once and then updated: a
    wrong passphrase with tries left (audited, view kept), the right one with the secret;
    the Reveal message is updated."""
    share(sim, [BOB], passphrase="blue-harbour-42")
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
    assert "another way" in receipt[0].params["text"]
    message, button = sim.reveal_prompt(BOB)
    assert button["action_id"] == "reveal_with_passphrase"
    ask = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert "Unlock" in ask["title"]["text"]
    opened = slack.calls_to("views.open")[-1].response["view"]

    def unlock(passphrase: str, count: int) -> dict:
        reply = sim.submit_passphrase(BOB, opened, passphrase)
        assert reply.json()["response_action"] == "update"
        assert "Checking" in json.dumps(reply.json()["view"])
        update = slack.wait_for("views.update", count=count)[-1]
        assert update.params["view_id"] == opened["id"]
        return update.params["view"]

    assert "4 more tries" in json.dumps(unlock("red-harbour-42", 1))
    assert preformatted(unlock("blue-harbour-42", 2)) == SECRET
    lines = audit_lines(slack, 3)
    assert "Wrong passphrase" in lines[1]
    assert "Secret opened" in lines[2]
    assert slack.wait_for("response_url")[0].params["replace_original"] is True


def test_unlimited_views_keep_the_reveal_button(sim, slack):
    """With unlimited views the recipient's message keeps a Reveal button, which works
    again; the modal says it can be viewed again."""
    share(sim, [BOB], views="unlimited")
    message, button = sim.reveal_prompt(BOB)
    first = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert "view it again" in json.dumps(first)
    replaced = slack.wait_for("response_url")[0].params
    again = next(e for b in replaced["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert again["value"] == button["value"]
    second = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert preformatted(second) == SECRET


def test_revoke_from_the_receipt(sim, slack):
    """Revoke on the sender's receipt ends the secret, strikes out the recipient's DM and
    makes a later click get the standard refusal."""
    share(sim, [CAROL])  # Carol is not in #general: her prompt is a DM
    message, button = sim.reveal_prompt(CAROL)
    receipt_call = slack.wait_for("chat.postEphemeral",
                                  where=lambda c: c.params["user"] == ALICE)[0]
    receipt = [m for m in slack.messages() if m.ephemeral_to == ALICE][-1]
    revoke = next(e | {"block_id": b["block_id"]} for b in receipt_call.params["blocks"]
                  if b["type"] == "actions" for e in b["elements"])
    assert revoke["action_id"] == "revoke_secret"
    sim.click(ALICE, receipt, revoke)
    replaced = slack.wait_for("response_url")[0]
    assert "Revoked" in replaced.params["text"]
    update = slack.wait_for("chat.update")[0]
    assert update.params["ts"] == message.ts
    assert "was revoked" in update.params["text"]
    late = sim.click(CAROL, message, button)
    assert "no longer available" in json.dumps(sim.shown_view(late.trigger_id))
    assert "Secret revoked" in audit_lines(slack, 2)[1]


def test_commands_list_status_revoke_help(sim, slack):
    """`list`, `status CODE`, `revoke CODE` and `help` answer the sender privately."""
    share(sim, [BOB], label="API key")
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
    code = json.dumps(receipt[0].params["blocks"]).split("Share code: `")[1][:14]
    listed = sim.slash_command(ALICE, GENERAL, "list").json()
    assert "API key" in json.dumps(listed["blocks"])
    assert "active" in json.dumps(listed["blocks"])
    status = sim.slash_command(ALICE, GENERAL, f"status {code.lower()}").json()
    assert f"<@{BOB}>: not viewed" in json.dumps(status["blocks"])
    assert "None of your secrets" in sim.slash_command(EVE, GENERAL,
                                                      f"status {code}").json()["text"]
    assert "Revoked" in sim.slash_command(ALICE, GENERAL, f"revoke {code}").json()["text"]
    assert "already ended" in sim.slash_command(ALICE, GENERAL, f"revoke {code}").json()["text"]
    assert "revoke CODE" in sim.slash_command(ALICE, GENERAL, "help").json()["text"]
    assert "I don't know" in sim.slash_command(ALICE, GENERAL, "frobnicate").json()["text"]


def test_expiry_sweep_tells_the_sender(sim, slack, live, clock, redis_sync):
    """When the clock passes expiry, the sweep expires the secret once, audits it and tells
    the sender it expired unread; its ciphertext is gone."""
    share(sim, [CAROL], expiry="3600")
    sim.reveal_prompt(CAROL)
    clock.advance(3601)
    assert live.call(live.runtime.sweeper.run_once()) == 1
    assert live.call(live.runtime.sweeper.run_once()) == 0
    assert any("expired unread" in t for t in texts_to(slack, ALICE))
    assert "Secret expired" in audit_lines(slack, 2)[1]
    assert slack.wait_for("chat.update")[0].params["text"].endswith("can no longer be viewed.")
    assert not [v for v in redis_contents(redis_sync) if SECRET.encode() in v]


def test_reminder_an_hour_before_expiry(sim, slack, live, clock):
    """An unread secret earns its sender one reminder an hour before it expires."""
    share(sim, [BOB], expiry="86400")
    clock.advance(86400 - 3000)
    live.call(live.runtime.sweeper.run_once())
    live.call(live.runtime.sweeper.run_once())
    reminders = [t for t in texts_to(slack, ALICE) if "hasn't been viewed" in t]
    assert len(reminders) == 1


def test_request_a_secret(sim, slack):
    """`/share-secret request @bob why` asks Bob; his Share it opens the form for Alice."""
    reply = sim.slash_command(ALICE, GENERAL, f"request <@{BOB}> staging DB password")
    assert "Asking" in reply.json()["text"]
    request = slack.wait_for("chat.postMessage", where=lambda c: "asks you" in c.params.get(
        "text", ""))[0]
    message = next(m for m in slack.messages() if m.ts == request.response["ts"])
    button = next(e | {"block_id": b["block_id"]} for b in message.blocks
                  if b["type"] == "actions" for e in b["elements"])
    click = sim.click(BOB, message, button)
    form = sim.shown_view(click.trigger_id)
    assert form["blocks"][1]["element"]["initial_users"] == [ALICE]
    assert "staging DB password" in json.dumps(form["blocks"][0])
    assert "Secret requested" in audit_lines(slack, 1)[0]


def test_decryption_failure_never_destroys(sim, slack, live, redis_sync):
    """With the ciphertext unreadable, Reveal says to contact the sender, audits it, and the
    view is not used up."""
    share(sim, [BOB])
    message, button = sim.reveal_prompt(BOB)
    [key] = [k for k in redis_sync.scan_iter("ss:{*}:c")]
    original = redis_sync.get(key)
    redis_sync.set(key, original[:-1] + bytes([original[-1] ^ 1]), keepttl=True)
    failed = sim.shown_view(sim.click(BOB, message, button).trigger_id)
    assert "couldn't be opened" in json.dumps(failed)
    assert "Reveal failed" in audit_lines(slack, 2)[1]
    redis_sync.set(key, original, keepttl=True)
    assert preformatted(sim.shown_view(sim.click(BOB, message, button).trigger_id)) == SECRET


def test_nothing_secret_in_logs_redis_or_slack(sim, slack, live, redis_sync):
    """After passphrase and plain flows, no secret or passphrase is in Redis, the logs, or
    any message other than the reveal itself."""
    share(sim, [BOB], passphrase="quiet-mountain-7")
    sim.submit_passphrase(BOB, unlock_form(sim), "quiet-mountain-7")
    slack.wait_for("views.update")
    settle(slack)
    for needle in (SECRET, "quiet-mountain-7"):
        assert needle not in live.log_text()
        assert not [v for v in redis_contents(redis_sync) if needle.encode() in v]
    assert sent_outside_reveals(slack, SECRET) == []
    assert sent_outside_reveals(slack, "quiet-mountain-7") == []


def test_five_wrong_passphrases_lock_and_are_audited(sim, slack):
    """Five wrong passphrases lock the secret (audited as a lockout); the right one is
    then refused until the lock ends."""
    share(sim, [BOB], passphrase="green-river-9")
    opened = unlock_form(sim)
    for n in range(6):
        sim.submit_passphrase(BOB, opened, "green-river-9" if n == 5 else f"wrong-{n}")
        slack.wait_for("views.update", count=n + 1, timeout=10)
    last = slack.calls_to("views.update")[-1].params["view"]
    assert "locked" in json.dumps(last)
    assert preformatted(last) is None
    lines = audit_lines(slack, 6)
    assert sum("Wrong passphrase" in line for line in lines) == 4
    assert any("Secret locked" in line for line in lines)


def test_receipts_can_be_turned_off(sim, slack):
    """With "Notify me when it is viewed" unticked, the sender gets no receipt."""
    share(sim, [BOB], notify=[])
    message, button = sim.reveal_prompt(BOB)
    assert preformatted(sim.shown_view(sim.click(BOB, message, button).trigger_id)) == SECRET
    settle(slack)
    assert not [t for t in texts_to(slack, ALICE) if "viewed" in t]
