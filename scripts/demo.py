"""A guided run of the real bot, with no Slack workspace needed.

Starts a throwaway Redis, the Slack stand-in, a local SMTP server and `python -m bot` in
HTTP mode, its web pages at its own address (PUBLIC_URL). Then plays three stories and
prints what each person saw: in Slack, share -> reveal -> second reveal refused -> a
stranger refused, through signed HTTP requests shaped like Slack's; outside Slack, a link
shared through the same form, fetched by a link previewer, opened in headless Chromium,
and found gone the second time (scripts/demo_external.py, which saves screenshots); from
a script, a secret made through the HTTP API with a token (scripts/demo_api.py).
Last, it checks that no secret leaked where it should not be.

    make demo        (or: python -m scripts.demo)
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

from port_for import get_port

from bot.crypto import generate_key_entry
from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_server import throwaway_redis
from devtools.harness.slack_client import SlackSim
from devtools.harness.smtp_server import SmtpServer
from devtools.slack_stand_in import SlackStandIn
from scripts import demo_api, demo_external
from scripts.demo_view import AUDIT, GENERAL, NAMES, audit_lines, readable, say, view_lines

SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="share-secret-demo-") as workdir, \
            _redis() as redis_url, SmtpServer() as smtp, \
            SlackStandIn(bot_token="xoxb-demo-" + secrets.token_hex(8), team_id="T0ACME",
                         team_domain="acme") as slack:
        for user_id, name in NAMES.items():
            slack.add_user(user_id, name)
        slack.add_channel(GENERAL, "general", members=["U0ALICE", "U0BOB", "U0EVE"])
        slack.add_channel(AUDIT, "secrets-audit", members=["U0ALICE"])
        signing_secret = secrets.token_hex(16)
        port = get_port(None)
        public_url = f"http://127.0.0.1:{port}"
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": signing_secret,
               "SLACK_API_URL": slack.base_url, "REDIS_URL": redis_url,
               "ENCRYPTION_KEYS": generate_key_entry("demo"), "AUDIT_CHANNEL_ID": AUDIT,
               "PUBLIC_URL": public_url, "SMTP_URL": smtp.url,
               "MAIL_FROM": "share-secret@acme.example",
               # The checks below read the log at its chattiest.
               "LOG_LEVEL": "DEBUG"}
        print("share-secret demo: the real bot (python -m bot, HTTP mode, its pages at "
              f"{public_url}),\na throwaway Redis at {redis_url}, the Slack stand-in at "
              f"{slack.base_url}\nand an SMTP server at {smtp.url}")
        with BotProcess(env, workdir=Path(workdir), port=port) as bot:
            sim = SlackSim(bot=bot, slack=slack, signing_secret=signing_secret)
            print("\n=== In Slack ===")
            play(sim, slack)
            print("\n=== Outside Slack: anyone with the link ===")
            seen = demo_external.play(sim, slack, bot)
            print("\n=== From a script: the HTTP API ===")
            token = demo_api.play(bot, slack, env, public_url)
            log = bot.log_text()
        leaked = [c.method for c in slack.calls
                  if SECRET in json.dumps(c.params)
                  and not (c.method == "views.open" and "rich_text" in json.dumps(c.params))]
        stored = b"".join(demo_external.redis_values(redis_url))
        found = [("secret in the bot's log", ["log"] if SECRET in log else []),
                 ("API token in the bot's log, Redis or any call to Slack",
                  [where for where, text in (("log", log), ("Redis", stored.decode(
                      "latin-1")), ("Slack", json.dumps([c.params for c in slack.calls])))
                   if token in text]),
                 ("secret in any message to Slack other than the reveal", leaked),
                 *demo_external.checks(seen, log=log, slack=slack, redis_url=redis_url,
                                       smtp=smtp, plaintexts=(SECRET,
                                                              demo_external.LINK_SECRET,
                                                              demo_api.API_SECRET))]
        print("\nChecks:")
        for question, problems in found:
            print(f"    {question}: {'YES (bug!) ' + str(problems) if problems else 'no'}")
        return 1 if any(problems for _, problems in found) else 0


def _redis():
    url = os.environ.get("REDIS_URL")
    if url:
        from contextlib import nullcontext
        return nullcontext(url)
    return throwaway_redis()


def play(sim: SlackSim, slack: SlackStandIn) -> None:
    command = sim.slash_command("U0ALICE", GENERAL, "<@U0BOB|bob>")
    say("alice", "types in #general:", "/share-secret @bob")
    form = sim.opened_view(command.trigger_id)
    say("alice", "sees a form (bob already picked):", view_lines(form))
    sim.submit("U0ALICE", form, recipients=["U0BOB"], secret=SECRET)
    say("alice", "pastes the secret and presses Share:", SECRET)

    message, button = sim.reveal_prompt("U0BOB")
    say("bob", "sees, only for him, in #general:",
        [readable(message.text), f"[ {button['text']['text']} ]"])
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == "U0ALICE")
    say("alice", "gets a private receipt:", readable(receipt[0].params["text"]))

    click = sim.click("U0BOB", message, button)
    say("bob", "clicks Reveal and sees a private window:",
        view_lines(sim.shown_view(click.trigger_id)))
    replaced = slack.wait_for("response_url")[0]
    say("bob", "sees his message change to:", readable(replaced.params["text"]))

    again = sim.click("U0BOB", message, button)
    say("bob", "clicks Reveal again:", view_lines(sim.shown_view(again.trigger_id)))
    stranger = sim.click("U0EVE", message, button)
    say("eve", "replays bob's button:", view_lines(sim.shown_view(stranger.trigger_id)))

    say("admins", "see in #secrets-audit:", [readable(line) for line in audit_lines(slack, 4)])


if __name__ == "__main__":
    sys.exit(main())
