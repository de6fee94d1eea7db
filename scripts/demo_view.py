"""How the demo prints what each person sees: Slack's mrkdwn and modals as text."""

from __future__ import annotations

import re
import textwrap
import time
from typing import Any

from devtools.slack_stand_in import SlackStandIn

NAMES = {"U0ALICE": "alice", "U0BOB": "bob", "U0EVE": "eve"}
GENERAL, AUDIT = "C0GENERAL", "C0AUDIT"


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


def audit_lines(slack: SlackStandIn, count: int, timeout: float = 15.0) -> list[str]:
    """The admin channel's lines, once there are `count` (the outbox may post several
    events in one message)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for c in slack.calls_to("chat.postMessage")
                 if c.ok and c.params.get("channel") == AUDIT
                 for line in c.params["text"].split("\n")]
        if len(lines) >= count or time.monotonic() >= deadline:
            return lines
        time.sleep(0.05)
