"""Reveals racing each other and the sender, end to end: the real bot over HTTP, a real
Redis and the Slack stand-in. Passphrase guesses by many recipients at once stay within
the lockout; a revoke stops a reveal already under way; every unlock form gets an answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.storage import KeySpace
from devtools.harness.bot_process import BotProcess
from devtools.harness.slack_client import SlackSim
from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    EVE,
    GENERAL,
    SIGNING_SECRET,
    bot_with,
    settle,
    wait_until,
)

pytestmark = pytest.mark.e2e

SECRET = "reveal-race-secret: k8s-admin-token-Zq81"
RIGHT = "amber-lighthouse-63"
GUESSERS = [f"U0GUESS{i}" for i in range(5)]
EIGHT = [BOB, CAROL, EVE, *GUESSERS]  # recipients: 7 guess wrong, the last one right
TRIES = 5  # the bot's passphrase policy: 5 guesses per 10 minutes
CODE = re.compile(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")
KEYS = KeySpace("ss")
# Seconds between looks at Redis while a reveal is caught in the act: far less than the
# passphrase check (scrypt) a test waits inside of.
RACE_POLL = 0.001


@pytest.fixture(scope="module")
def replica(slack, redis_url, tmp_path_factory) -> Iterator[BotProcess]:
    """A second bot process on the same Redis (as in any deployment with replicas), which
    a test may freeze mid-reveal while the session's bot answers the sender."""
    with bot_with(slack, redis_url, tmp_path_factory.mktemp("replica")) as process:
        yield process


def share(sim: SlackSim, recipients: list[str]) -> tuple[str, str]:
    """Alice shares SECRET, locked with RIGHT; returns its id and share code."""
    command = sim.slash_command(ALICE, GENERAL)
    reply = sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=recipients,
                       secret=SECRET, passphrase=RIGHT)
    assert reply.body == b"", reply.body
    receipt = sim.slack.wait_for("chat.postEphemeral",
                                 where=lambda c: c.params["user"] == ALICE)[0]
    _, button = sim.reveal_prompt(recipients[0])
    return button["value"], CODE.search(receipt.params["text"]).group()


def unlock_form(sim: SlackSim, user: str) -> dict[str, Any]:
    """The user clicks Reveal and gets the passphrase form (as Slack opened it)."""
    message, button = sim.reveal_prompt(user)
    assert button["action_id"] == "reveal_with_passphrase"
    return sim.opened_view(sim.click(user, message, button).trigger_id)


def type_passphrase(sim: SlackSim, user: str, form: dict[str, Any], phrase: str) -> None:
    reply = sim.submit_passphrase(user, form, phrase)
    assert reply.status == 200
    assert "Checking" in json.dumps(reply.json()["view"])  # answered at once


def answer(slack, form: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """What replaced the "Checking…" form: the secret, or a refusal."""
    call = slack.wait_for("views.update", timeout=timeout,
                          where=lambda c: c.params.get("view_id") == form["id"])[0]
    return dict(call.params["view"])


def slot(redis_sync, secret_id: str, user: str) -> bytes:
    """A recipient's state in the secret's metadata ("0", "c…" claimed, "s…" showing...)."""
    return redis_sync.hget(KEYS.meta(secret_id), f"r:{user}") or b""


def audited(redis_sync, secret_id: str) -> list[str]:
    """The audit events recorded for a secret, in order."""
    return [fields[b"event"].decode()
            for _, fields in redis_sync.xrange("ss:{audit}:events")
            if fields.get(b"secret_id") == secret_id.encode()]


def carrying(slack, needle: str) -> list[str]:
    return [call.describe() for call in slack.calls if needle in json.dumps(call.params)]


def test_eight_recipients_guessing_at_once_get_no_more_than_five_guesses(sim, slack,
                                                                         redis_sync):
    """7 recipients submit wrong passphrases at once and, while those are still being
    checked, the 8th the right one. At most 5 guesses are ever evaluated (the guess is
    counted before the scrypt work, not after); the rest are refused, the right one
    included, and the secret is never shown."""
    for user in GUESSERS:
        slack.add_user(user, user.lower())
    secret_id, _ = share(sim, EIGHT)
    forms = {user: unlock_form(sim, user) for user in EIGHT}
    wrong, last = EIGHT[:7], EIGHT[7]
    with ThreadPoolExecutor(max_workers=len(wrong)) as pool:
        list(pool.map(lambda u: type_passphrase(sim, u, forms[u], f"not-it-{u.lower()}"),
                      wrong))
    answered = {c.params.get("view_id") for c in slack.calls_to("views.update")}

    # Every wrong guess taken in (claimed a view, or already refused) but not all decided.
    def taken_in(user: str) -> bool:
        return slot(redis_sync, secret_id, user)[:1] in (b"c", b"s") or \
            forms[user]["id"] in {c.params.get("view_id") for c in slack.calls_to("views.update")}
    wait_until(lambda: all(taken_in(u) for u in wrong), poll=RACE_POLL)
    assert len(answered) < len(wrong)
    type_passphrase(sim, last, forms[last], RIGHT)

    views = {user: answer(slack, forms[user]) for user in EIGHT}
    settle(slack)
    assert [u for u, v in views.items() if v["title"]["text"] == "Your secret"] == []
    assert "Your secret" not in json.dumps(views[last])
    assert "locked" in json.dumps(views[last]) or "being checked" in json.dumps(views[last])
    events = audited(redis_sync, secret_id)
    evaluated = [e for e in events
                 if e in ("passphrase_failed", "passphrase_locked", "secret_opened")]
    assert len(evaluated) <= TRIES, events
    assert "passphrase_locked" in events
    assert carrying(slack, SECRET) == []
    # The 8 views are all still there (wrong and refused guesses use up nothing).
    assert all(slot(redis_sync, secret_id, u) == b"0" for u in EIGHT)


def test_a_revoke_stops_a_reveal_already_under_way(sim, slack, redis_sync, replica):
    """Bob's reveal (on one replica) has claimed his view and is checking the passphrase
    when Alice revokes (answered by the other replica). The step that marks the view as
    being shown refuses: the plaintext never reaches Slack, Bob gets the same answer as
    for any revoked secret, and the view is given back (nothing stays in flight)."""
    secret_id, code = share(sim, [BOB])
    form = unlock_form(sim, BOB)
    frozen = SlackSim(bot=replica, slack=slack, signing_secret=SIGNING_SECRET)
    type_passphrase(frozen, BOB, form, RIGHT)
    # Freeze the replica between the claim and the mark: the passphrase check (scrypt)
    # between them takes tens of milliseconds at least; Redis is polled far faster.
    wait_until(lambda: slot(redis_sync, secret_id, BOB).startswith(b"c"), poll=RACE_POLL)
    os.killpg(replica.pid, signal.SIGSTOP)
    try:
        assert slot(redis_sync, secret_id, BOB).startswith(b"c"), "froze too late"
        revoked = sim.slash_command(ALICE, GENERAL, f"revoke {code}")
        assert "Revoked" in revoked.json()["text"]
    finally:
        os.killpg(replica.pid, signal.SIGCONT)

    view = answer(slack, form)
    assert view["title"]["text"] != "Your secret"
    assert "no longer available" in json.dumps(view)
    settle(slack)
    assert carrying(slack, SECRET) == []
    meta = KEYS.meta(secret_id)
    assert slot(redis_sync, secret_id, BOB) == b"0"
    assert redis_sync.hget(meta, "claims") == b"0"
    assert redis_sync.hget(meta, "st") == b"revoked"
    assert redis_sync.zscore(KEYS.claims(), f"{secret_id[:12]}|{BOB}") is None
    assert "secret_opened" not in audited(redis_sync, secret_id)


def test_a_second_unlock_form_gets_an_answer(sim, slack, redis_sync):
    """Bob opens the passphrase form twice and submits both while the first is being
    checked: the first shows the secret; the second is told it is being opened in
    the other window, instead of "Checking…" forever."""
    secret_id, _ = share(sim, [BOB])
    first, second = unlock_form(sim, BOB), unlock_form(sim, BOB)
    type_passphrase(sim, BOB, first, RIGHT)
    wait_until(lambda: slot(redis_sync, secret_id, BOB)[:1] in (b"c", b"s", b"v"), poll=RACE_POLL)
    type_passphrase(sim, BOB, second, RIGHT)
    shown, other = answer(slack, first), answer(slack, second)
    assert shown["title"]["text"] == "Your secret"
    assert "another window" in json.dumps(other)
    assert SECRET not in json.dumps(other)
    with contextlib.suppress(AssertionError):  # nothing more is sent to either form
        slack.wait_for("views.update", count=3, timeout=0.5)
    assert len(slack.calls_to("views.update")) == 2
