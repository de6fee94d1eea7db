"""docs/redis-layout.md names every kind of key the bot writes.

The real bot runs a representative flow (share, reveal, a stranger's click, a passphrase
locked by wrong guesses, a request, the Home tab, a revoke, the audit log posted) while
Redis reports every key written (keyspace notifications, so keys that live for a moment,
such as owed audit events, count too). Each key must match a row of the table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ALICE, BOB, CAROL, EVE, GENERAL, audit_lines, settle
from tests.e2e.test_e2e_share_reveal import CODE, share

pytestmark = pytest.mark.e2e

LAYOUT = Path(__file__).resolve().parents[2] / "docs" / "redis-layout.md"

# What each placeholder of the table stands for in a key name.
PLACEHOLDERS = {
    "HANDLE": r"[0-9A-Z]{12}",
    "TEAM": r"[A-Z0-9]+",
    "USER": r"[A-Z0-9]+",
    "CODE": r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
    "VIEW": r"[^:]+",
    "ID": r"[^:]+",
    "TRIGGER": r"[^:]+",
    "ACTION": r"[a-z]+",
    "NONCE": r".+",  # an audit event's nonce may itself hold colons ("opened:ID:1")
    "WINDOW": r"\d+",
    "DIGEST": r"[0-9a-f]{64}",  # an API token's SHA-256, in hex
}


def documented_patterns(text: str) -> list[str]:
    """The key patterns in the first column of the page's key table."""
    patterns = []
    for line in text.splitlines():
        if line.startswith("| `"):
            first_cell = line.split(" | ")[0]
            patterns += re.findall(r"`([^`]+)`", first_cell)
    return patterns


def as_regex(pattern: str) -> re.Pattern[str]:
    """A table pattern (`ss:{HANDLE}:c`) as a regex matching whole key names."""
    parts = re.split(r"\b([A-Z]{2,})\b", pattern)
    regex = ""
    for i, part in enumerate(parts):
        if i % 2:
            assert part in PLACEHOLDERS, f"the table uses {part}, unknown to this test"
            regex += PLACEHOLDERS[part]
        else:
            regex += re.escape(part)
    return re.compile(regex)


def undocumented(keys: set[str], patterns: list[str]) -> list[str]:
    regexes = [as_regex(p) for p in patterns]
    return sorted(k for k in keys if not any(r.fullmatch(k) for r in regexes))


def test_the_table_parses_and_recognises_its_own_examples():
    """The table yields every row's patterns, and the check flags a key no row names."""
    patterns = documented_patterns(LAYOUT.read_text())
    assert "ss:{HANDLE}:c" in patterns
    assert "ss:{audit}:n:NONCE" in patterns
    keys = {"ss:{7KQMX4PD9HTC}:c", "ss:{audit}:n:opened:7KQMX4PD9HTC0123:1",
            "ss:once:reveal:{T0ACME:U0BOB}:1234.5678.abcd", "ss:{7KQMX4PD9HTC}:zz"}
    assert undocumented(keys, patterns) == ["ss:{7KQMX4PD9HTC}:zz"]


def type_passphrase(sim, slack, form, phrase: str, count: int) -> None:
    sim.submit_passphrase(BOB, form, phrase)
    slack.wait_for("views.update", count=count, timeout=10)


def test_every_key_the_bot_writes_is_in_the_redis_layout(sim, slack, redis_sync):
    """Every key written during the flows matches a row of docs/redis-layout.md."""
    before = redis_sync.config_get("notify-keyspace-events")["notify-keyspace-events"]
    redis_sync.config_set("notify-keyspace-events", "KA")
    watch = redis_sync.pubsub()
    watch.psubscribe("__keyspace@*__:*")
    assert watch.get_message(timeout=5)["type"] == "psubscribe"
    try:
        share(sim, [BOB, CAROL])
        receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
        code = CODE.search(receipt[0].params["text"]).group()
        message, button = sim.reveal_prompt(BOB)
        sim.shown_view(sim.click(BOB, message, button).trigger_id)
        sim.click(EVE, message, button)

        command = sim.slash_command(ALICE, GENERAL)
        form = sim.opened_view(command.trigger_id)
        sim.submit(ALICE, form, recipients=[BOB], secret="locked away",
                   passphrase="green-river-9")
        settle(slack)
        message, button = next(prompt for prompt in sim.find_prompts(BOB)
                               if prompt[1]["action_id"] == "reveal_with_passphrase")
        trigger = sim.click(BOB, message, button).trigger_id
        sim.shown_view(trigger)
        unlock = next(c.response["view"] for c in slack.calls_to("views.open")
                      if c.params["trigger_id"] == trigger)
        for n in range(5):
            type_passphrase(sim, slack, unlock, f"wrong-{n}", n + 1)

        sim.slash_command(ALICE, GENERAL, f"request <@{BOB}|bob> the staging password")
        sim.open_home(ALICE)
        sim.slash_command(ALICE, GENERAL, f"revoke {code}")
        audit_lines(slack, 8)
        settle(slack)

        # The bot writes on (the audit lease is renewed): read up to the unsubscription.
        watch.punsubscribe()
        written = set()
        while (note := watch.get_message(timeout=5))["type"] != "punsubscribe":
            if note["type"] == "pmessage":
                written.add(note["channel"].decode().split("__:", 1)[1])
        written |= {key.decode() for key in redis_sync.keys("*")}
    finally:
        watch.close()
        redis_sync.config_set("notify-keyspace-events", before)

    # The flow reached the kinds of keys it is meant to (else this proves little).
    kinds = {re.sub(r"\{[0-9A-Z]{12}\}", "{HANDLE}", key) for key in written}
    for expected in ["ss:{HANDLE}:c", "ss:{HANDLE}:m", "ss:{HANDLE}:g", "ss:{HANDLE}:l",
                     "ss:{HANDLE}:o", "ss:owed", "ss:{audit}:events", "ss:{audit}:pending"]:
        assert expected in kinds, (expected, sorted(kinds))
    # Any key listed here needs a row in docs/redis-layout.md.
    assert undocumented(written, documented_patterns(LAYOUT.read_text())) == []
