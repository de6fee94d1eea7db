"""Someone with write access to Redis, against the running bot: the real ASGI app over
real HTTP, the Slack stand-in, real Redis, a clock the tests move.

The attack: add yourself to a secret's recipients in its metadata hash and put the
secret back in the undelivered index; the bot's own sweep would send you a genuine
Reveal button, and your click would show the plaintext. The metadata seal stops both.
"""

from __future__ import annotations

import json

import pytest

from bot.storage import KeySpace
from tests.conftest import (
    ALICE,
    AUDIT_CHANNEL,
    BOB,
    CAROL,
    EVE,
    GENERAL,
    audit_lines,
    populate,
    settle,
)

pytestmark = pytest.mark.e2e

SECRET = "prod-db: hunter2-but-much-longer"
KEYS = KeySpace("ss")
REFUSED = "integrity check"  # the audit detail of a refused record


def share(sim, recipients, **fields):
    view = sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
    reply = sim.submit(ALICE, view, recipients=recipients, secret=SECRET, **fields)
    assert reply.status == 200
    assert reply.body == b"", reply.body
    settle(sim.slack)


def stored_handle(redis_sync) -> str:
    [key] = list(redis_sync.scan_iter("ss:{*}:m"))
    return key.decode().split("{")[1].split("}")[0]


def views_shown_to(sim, user) -> list[str]:
    """Click every Reveal button `user` has; the modals the bot opened, as text."""
    return [json.dumps(sim.shown_view(sim.click(user, message, button).trigger_id))
            for message, button in sim.find_prompts(user)]


def test_a_recipient_added_in_redis_gets_no_reveal_from_the_sweep(sim, slack, live,
                                                                  redis_sync):
    """The reproduced attack: Eve adds herself to Bob's secret and marks it undelivered.
    The sweep sends her nothing, admins see the refusal, and Bob's own button now reads as
    a missing secret: the record is never shown to anyone."""
    share(sim, [BOB])
    bob_prompt = sim.reveal_prompt(BOB)
    name = stored_handle(redis_sync)
    meta = KEYS.meta(name)
    redis_sync.hset(meta, mapping={"to": f"{BOB},{EVE}", f"r:{EVE}": "0"})
    redis_sync.hincrby(meta, "left", 1)  # each recipient once: one view more
    redis_sync.zadd(KEYS.undelivered(), {name: 0})  # "a process died delivering it"
    slack.reset()
    populate(slack)

    live.call(live.runtime.sweeper.run_once())
    settle(slack)

    assert not any("hunter2" in view for view in views_shown_to(sim, EVE)), \
        "a Redis write turned the bot into a decryption oracle"
    assert sim.find_prompts(EVE) == []
    assert redis_sync.zscore(KEYS.undelivered(), name) is None  # not sent again later
    assert any(REFUSED in line for line in audit_lines(slack, 1))
    refused = sim.shown_view(sim.click(BOB, *bob_prompt).trigger_id)
    assert "no longer available" in json.dumps(refused)
    assert "hunter2" not in json.dumps(refused)


def test_an_expiry_extended_in_redis_is_refused_at_reveal(sim, slack, live, clock,
                                                          redis_sync):
    """Bob's genuine button, clicked after the secret's expiry, which someone pushed back
    in Redis (and kept the ciphertext): the reveal reads as a missing secret, audited."""
    share(sim, [BOB], expiry="3600")
    message, button = sim.reveal_prompt(BOB)
    name = stored_handle(redis_sync)
    redis_sync.hincrby(KEYS.meta(name), "exp", 30 * 86400)
    redis_sync.persist(KEYS.ciphertext(name))
    clock.advance(3601)
    view = json.dumps(sim.shown_view(sim.click(BOB, message, button).trigger_id))
    assert "hunter2" not in view
    assert "no longer available" in view
    assert any(REFUSED in line for line in audit_lines(slack, 2))
    assert redis_sync.hget(KEYS.meta(name), f"r:{BOB}") == b"0"  # nothing used up


def test_a_changed_record_earns_no_expiry_notice(sim, slack, live, clock, redis_sync):
    """A sender and label written into Redis would have the bot send text chosen there to a
    person chosen there: a changed record still expires (and is audited), silently."""
    share(sim, [BOB], expiry="3600")
    name = stored_handle(redis_sync)
    redis_sync.hset(KEYS.meta(name), mapping={"from": CAROL, "lbl": "IT: reply with your password"})
    slack.reset()
    populate(slack)
    clock.advance(3601)
    assert live.call(live.runtime.sweeper.run_once()) == 1
    settle(slack)
    sent = [c.params.get("text", "") for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") != AUDIT_CHANNEL]
    assert not any("reply with your password" in text for text in sent)
    assert any("Secret expired" in line for line in audit_lines(slack, 1))
    assert redis_sync.get(KEYS.ciphertext(name)) is None


def test_revoking_a_changed_record_sends_nothing_chosen_in_redis(sim, slack, live, redis_sync):
    """A label written into Redis would be put into the recipients' Reveal DMs when the
    sender revokes: the changed record is still revoked (and audited), silently."""
    share(sim, [CAROL])  # not in #general: her Reveal message is a DM the bot can edit
    assert sim.reveal_prompt(CAROL)[0].channel.startswith("D")
    name = stored_handle(redis_sync)
    code = f"{name[:4]}-{name[4:8]}-{name[8:12]}"
    redis_sync.hset(KEYS.meta(name), "lbl", "IT: reply with your password")
    slack.reset()
    populate(slack)
    assert sim.slash_command(ALICE, GENERAL, f"revoke {code}").status == 200
    settle(slack)
    sent = [json.dumps(c.params) for c in slack.calls
            if c.method in ("chat.update", "chat.postMessage", "chat.postEphemeral")
            and c.params.get("channel") != AUDIT_CHANNEL]
    assert not any("reply with your password" in text for text in sent)
    assert redis_sync.get(KEYS.ciphertext(name)) is None
    assert redis_sync.hget(KEYS.meta(name), "st") == b"revoked"
