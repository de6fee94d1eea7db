"""A guided run of the real bot, with no Slack workspace needed.

Starts a throwaway Redis, the Slack stand-in and `python -m bot` in HTTP mode, then
plays share -> reveal -> second reveal refused -> a stranger refused, through signed
HTTP requests shaped like Slack's, and prints what each person saw.

    make demo        (or: python -m scripts.demo)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bot.crypto import generate_key_entry
from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_server import throwaway_redis
from devtools.harness.slack_client import SlackSim
from devtools.slack_stand_in import SlackStandIn

NAMES = {"U0ALICE": "alice", "U0BOB": "bob", "U0EVE": "eve"}
GENERAL, AUDIT = "C0GENERAL", "C0AUDIT"
SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def readable(mrkdwn: str) -> str:
    """Slack mrkdwn as a person would read it: names for mentions, dates as text."""
    text = re.sub(r"<@(U\w+)(?:\|[^>]*)?>", lambda m: "@" + NAMES.get(m.group(1), m.group(1)),
                  mrkdwn)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    return re.sub(r":[a-z_]+: ", "", text)


def view_lines(view: dict[str, Any]) -> list[str]:
    lines = [f"[ {view['title']['text']} ]"]
    for block in view.get("blocks", []):
        if block["type"] == "section":
            lines.append(readable(block["text"]["text"]))
        elif block["type"] == "context":
            lines.append("  " + readable(block["elements"][0]["text"]))
        elif block["type"] == "input":
            lines.append(f"  {block['label']['text']}: [{block['element']['type']}]")
        elif block["type"] == "rich_text":
            secret = block["elements"][0]["elements"][0]["text"]
            lines.append(f"  | {secret} |")
    return lines


def say(who: str, what: str, lines: list[str] | str) -> None:
    body = lines if isinstance(lines, list) else [lines]
    print(f"\n{who} {what}")
    for line in body:
        for wrapped in textwrap.wrap(line, 86) or [""]:
            print(f"    {wrapped}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="share-secret-demo-") as workdir, \
            _redis() as redis_url, \
            SlackStandIn(bot_token="xoxb-demo-" + secrets.token_hex(8), team_id="T0ACME",
                         team_domain="acme") as slack:
        for user_id, name in NAMES.items():
            slack.add_user(user_id, name)
        slack.add_channel(GENERAL, "general", members=["U0ALICE", "U0BOB", "U0EVE"])
        slack.add_channel(AUDIT, "secrets-audit", members=["U0ALICE"])
        signing_secret = secrets.token_hex(16)
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": signing_secret,
               "SLACK_API_URL": slack.base_url, "REDIS_URL": redis_url,
               "ENCRYPTION_KEYS": generate_key_entry("demo"), "AUDIT_CHANNEL_ID": AUDIT}
        print("share-secret demo: the real bot (python -m bot, HTTP mode), a throwaway Redis "
              f"at {redis_url}\nand the Slack stand-in at {slack.base_url}")
        with BotProcess(env, workdir=Path(workdir)) as bot:
            sim = SlackSim(bot=bot, slack=slack, signing_secret=signing_secret)
            play(sim, slack)
            log = bot.log_text()
        print("\nChecks:")
        print(f"    secret in the bot's log: {'YES (bug!)' if SECRET in log else 'no'}")
        leaked = [c.method for c in slack.calls
                  if SECRET in json.dumps(c.params)
                  and not (c.method == "views.open" and "rich_text" in json.dumps(c.params))]
        print(f"    secret in any message to Slack other than the reveal: "
              f"{'YES (bug!) ' + str(leaked) if leaked else 'no'}")
        return 1 if leaked or SECRET in log else 0


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


def audit_lines(slack: SlackStandIn, count: int, timeout: float = 15.0) -> list[str]:
    """The admin channel's lines (the outbox may post several events in one message)."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for c in slack.calls_to("chat.postMessage")
                 if c.ok and c.params.get("channel") == AUDIT
                 for line in c.params["text"].split("\n")]
        if len(lines) >= count:
            break
        time.sleep(0.05)
    return lines


if __name__ == "__main__":
    sys.exit(main())
