"""Redis closing idle connections (its `timeout` setting, common on managed Redis): the
first requests after a quiet spell must not fail. Every pooled connection the server
closed is found dead on its next use and the command is sent again on a fresh one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_nodes import RedisNode
from devtools.harness.slack_client import SlackSim
from tests.conftest import ALICE, BOB, GENERAL, SIGNING_SECRET, bot_env, populate, settle

pytestmark = pytest.mark.e2e

IDLE_TIMEOUT = 1  # seconds Redis keeps an idle client connection open
SECRET = "idle-connection-canary-41c9"


@pytest.fixture(scope="module")
def idle_closing_redis(tmp_path_factory) -> Iterator[RedisNode]:
    with RedisNode(tmp_path_factory.mktemp("redis-idle"),
                   args=["--timeout", str(IDLE_TIMEOUT)]) as node:
        yield node


@pytest.fixture(scope="module")
def idle_bot(slack, idle_closing_redis, tmp_path_factory) -> Iterator[BotProcess]:
    url = f"redis://127.0.0.1:{idle_closing_redis.port}/0"
    # No sweeps and no audit channel: nothing keeps a connection busy between requests.
    env = bot_env(slack, url, SWEEP_INTERVAL_SECONDS="0", AUDIT_CHANNEL_ID="")
    with BotProcess(env, workdir=tmp_path_factory.mktemp("bot-idle")) as process:
        yield process


def test_requests_after_redis_closed_idle_connections_succeed(idle_bot, slack):
    """Shares and reveals a few seconds apart, each after Redis dropped every idle
    connection, all work: no "couldn't save", no "temporarily unavailable"."""
    slack.reset()
    populate(slack)
    sim = SlackSim(bot=idle_bot, slack=slack, signing_secret=SIGNING_SECRET)
    for round_no in range(2):
        # Many connections in use at once, so the pool holds several to be closed.
        time.sleep(IDLE_TIMEOUT + 1.5)
        form = sim.opened_view(sim.slash_command(ALICE, GENERAL).trigger_id)
        time.sleep(IDLE_TIMEOUT + 1.5)
        reply = sim.submit(ALICE, form, recipients=[BOB], secret=f"{SECRET}-{round_no}")
        assert reply.body == b"", reply.body
        message, button = sim.reveal_prompt(BOB)
        time.sleep(IDLE_TIMEOUT + 1.5)
        click = sim.click(BOB, message, button)
        shown = json.dumps(sim.shown_view(click.trigger_id)["blocks"])
        assert f"{SECRET}-{round_no}" in shown
        settle(slack)
