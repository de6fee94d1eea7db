"""`/share-secret admin api-token create|list|revoke`, end to end: the real app over real
HTTP (in this process, so that its admins can be configured), the Slack stand-in, a real
Redis. A new token is shown once, in a window, and nowhere else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.api.tokens import ApiToken
from devtools.harness.clock import FakeClock
from devtools.harness.inprocess import InProcessBot
from tests.conftest import (
    BOB,
    GENERAL,
    audit_lines,
    inprocess_settings,
    preformatted,
    redis_contents,
    settle,
    sim_for,
    strings_in,
    with_api_tokens,
)
from tests.e2e.test_docs_redis_layout import documented_patterns, undocumented

pytestmark = pytest.mark.e2e
ADMIN = "U0ADMIN"
LAYOUT = Path(__file__).resolve().parents[2] / "docs" / "redis-layout.md"


@pytest.fixture(scope="module")
def live(slack, redis_url):
    settings = inprocess_settings(slack, redis_url, admin_user_ids=(ADMIN,))
    with InProcessBot(settings, clock=FakeClock()) as bot:
        yield bot


@pytest.fixture
def sim(live, slack, redis_sync):
    sim = sim_for(live, slack)
    slack.add_user(ADMIN, "admin")
    yield sim
    settle(slack)


def verify(redis_url: str, text: str) -> ApiToken | None:
    return with_api_tokens(redis_url, lambda tokens: tokens.verify(text))


def create(sim, slack, text: str) -> tuple[str, dict]:
    """An admin's `admin api-token create ...`: the token the window shows, and the view."""
    reply = sim.slash_command(ADMIN, GENERAL, f"admin api-token create {text}")
    assert reply.status == 200
    view = sim.shown_view(reply.trigger_id)
    token = preformatted(view)
    assert token is not None, view
    assert token not in reply.body.decode()
    return token, view


def test_a_new_token_is_shown_once_in_a_window_and_nowhere_else(sim, slack, live, redis_url,
                                                                redis_sync):
    """The token is in the window opened with the command's trigger, and in no message,
    no other Slack call, no log line and no Redis key or value; it works; its creation is
    audited by name and id; every key written is in docs/redis-layout.md."""
    text, view = create(sim, slack, "deploy-bot <#C0DEPLOYS|deploys>")
    token = verify(redis_url, text)
    assert token is not None
    assert (token.team_id, token.name, token.created_by, token.receipts_to) == (
        "T0ACME", "deploy-bot", ADMIN, "C0DEPLOYS")
    shown = json.dumps(view["blocks"])
    assert "won't be shown again" in shown
    assert token.token_id in shown
    lines = audit_lines(slack, 1)
    created = next(line for line in lines if "API token created" in line)
    assert f"by <@{ADMIN}>" in created
    assert "deploy-bot, id " + token.token_id in created
    settle(slack)

    windows = [c for c in slack.calls_to("views.open") if text in strings_in(c.params)]
    assert len(windows) == 1
    elsewhere = [c.describe() for c in slack.calls if c not in windows
                 and any(text in s for s in strings_in(dict(c.params)))]
    assert elsewhere == []
    assert text not in live.log_text()
    assert not any(text.encode() in value for value in redis_contents(redis_sync))
    keys = {key.decode() for key in redis_sync.keys("*")}
    assert any(key.startswith("ss:api-tokens:") for key in keys)
    assert undocumented(keys, documented_patterns(LAYOUT.read_text())) == []


def test_receipts_to_a_person_list_and_revoke(sim, slack, redis_url):
    """A person mentioned gets the receipts; `list` names the token (never its text);
    `revoke NAME` refuses it at once and is audited."""
    text, _ = create(sim, slack, f"ci.staging <@{BOB}|bob>")
    token = verify(redis_url, text)
    assert token is not None
    assert token.receipts_to == BOB
    listed = sim.slash_command(ADMIN, GENERAL, "admin api-token list").json()
    body = json.dumps(listed)
    assert "ci.staging" in body
    assert token.token_id in body
    assert f"<@{BOB}>" in body
    assert text not in body
    revoked = sim.slash_command(ADMIN, GENERAL, "admin api-token revoke ci.staging").json()
    assert "Revoked API token *ci.staging*" in revoked["text"]
    assert verify(redis_url, text) is None
    lines = audit_lines(slack, 2)
    assert any("API token revoked" in line and "ci.staging" in line and f"<@{ADMIN}>" in line
               for line in lines)
    empty = sim.slash_command(ADMIN, GENERAL, "admin api-token list").json()
    assert "No API tokens" in empty["text"]
    gone = sim.slash_command(ADMIN, GENERAL, "admin api-token revoke ci.staging").json()
    assert "No live API token" in gone["text"]


def test_non_admins_are_refused_and_audited(sim, slack, redis_sync):
    for text in ("admin api-token create mine", "admin api-token list",
                 "admin api-token revoke mine"):
        reply = sim.slash_command(BOB, GENERAL, text).json()
        assert "Only share-secret admins" in reply["text"]
    lines = audit_lines(slack, 3)
    assert sum("Access denied" in line and f"<@{BOB}>" in line for line in lines) == 3
    assert slack.calls_to("views.open") == []
    assert redis_sync.keys("ss:api-tokens:*") == []


def test_bad_and_taken_names_are_answered_privately(sim, slack):
    usage = sim.slash_command(ADMIN, GENERAL, "admin api-token").json()
    assert "api-token create NAME" in usage["text"]
    assert "api-token create NAME" in sim.slash_command(ADMIN, GENERAL, "admin frob").json()[
        "text"]
    bad = sim.slash_command(ADMIN, GENERAL, "admin api-token create Deploy!").json()
    assert "1 to 40 characters" in bad["text"]
    create(sim, slack, "deploy-bot")
    taken = sim.slash_command(ADMIN, GENERAL, "admin api-token create deploy-bot")
    assert "already named deploy-bot" in taken.json()["text"]
    assert not [c for c in slack.calls_to("views.open")
                if c.params.get("trigger_id") == taken.trigger_id]


def test_a_token_slack_cannot_show_is_revoked_at_once(sim, slack, redis_url, redis_sync):
    """When the window does not open (the trigger expired), nobody saw the token: it is
    revoked, audited as such, and the admin is told to try again."""
    slack.fail("views.open", error="expired_trigger_id")
    reply = sim.slash_command(ADMIN, GENERAL, "admin api-token create unlucky")
    assert reply.status == 200
    told = slack.wait_for("response_url", where=lambda c: "revoked at once" in json.dumps(
        c.params))
    assert told
    lines = audit_lines(slack, 2)
    assert any("API token created" in line and "unlucky" in line for line in lines)
    assert any("API token revoked" in line and "could not show it" in line for line in lines)
    assert redis_sync.keys("ss:api-tokens:{api-tokens}:token:*") == []
    assert "No API tokens" in sim.slash_command(ADMIN, GENERAL,
                                                "admin api-token list").json()["text"]
