"""Cross-tenant, end to end (the real ASGI app over HTTP, Redis, the Slack stand-in): a
Reveal click from another workspace naming this workspace's secret is refused exactly
as a secret that does not exist would be, changes nothing, and is audited."""

from __future__ import annotations

import json

import pytest

from devtools.harness.clock import FakeClock
from devtools.harness.inprocess import InProcessBot
from devtools.harness.redis_state import assert_unchanged, snapshot
from tests.conftest import ALICE, BOB, GENERAL, audit_lines, inprocess_settings, settle, sim_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(slack, redis_url):
    with InProcessBot(inprocess_settings(slack, redis_url), clock=FakeClock()) as bot:
        yield bot


@pytest.fixture
def sim(live, slack, redis_sync):
    yield sim_for(live, slack)
    settle(slack)


OTHER_TEAM = "T0OTHER"


def from_other_team(payload, user_id):
    """The same click, as Slack would build it in another workspace (org-wide installs
    serve several workspaces; a user id may even be the same across them)."""
    payload = json.loads(json.dumps(payload))
    payload["team"] = {"id": OTHER_TEAM, "domain": "other"}
    payload["user"] = {**payload["user"], "id": user_id, "team_id": OTHER_TEAM}
    return payload


def shown(sim, payload):
    reply = sim.interaction(payload)
    assert reply.status == 200, reply.body
    return sim.shown_view(payload["trigger_id"])


@pytest.mark.parametrize("clicker", ["U0MALLORY", BOB])
def test_reveal_from_another_workspace_is_refused_like_a_missing_secret(
        sim, slack, redis_sync, clicker):
    """Team B's click on team A's secret (even by a user id that is a recipient in team
    A) shows the same modal as a secret that never existed, changes nothing in Redis but
    the audit stream, is audited with who and from where, and the secret stays intact."""
    command = sim.slash_command(ALICE, GENERAL)
    sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB],
               secret="hunter2")
    message, button = sim.reveal_prompt(BOB)
    settle(slack)
    audit_lines(slack, 1)  # the share's own event is out of the way
    before = snapshot(redis_sync)

    foreign = from_other_team(sim.block_action(BOB, message, button), clicker)
    refusal = shown(sim, foreign)
    missing = from_other_team(sim.block_action(BOB, message, {
        **button, "value": "Z" * 12 + button["value"][12:]}), clicker)
    assert refusal["blocks"] == shown(sim, missing)["blocks"]
    assert "no longer available" in json.dumps(refusal)
    settle(slack)

    assert_unchanged(before, snapshot(redis_sync))
    denied = [line for line in audit_lines(slack, 2) if "Access denied" in line]
    assert len(denied) == 1, denied  # the missing secret is not anybody's to audit
    assert f"<@{clicker}>" in denied[0]
    assert "another workspace" in denied[0]
    assert button["value"][:4] in denied[0]  # names the secret, by its code

    bob = sim.click(BOB, message, button)
    assert "hunter2" in json.dumps(sim.shown_view(bob.trigger_id))
