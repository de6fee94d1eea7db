"""The real bot with its web pages on, for the browser tests: PUBLIC_URL is the bot's own
address (the browser opens the links it makes, and its page's POSTs come from that
origin), and its mail goes to the session's aiosmtpd. One bot per module."""

from __future__ import annotations

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.slack_client import SlackSim
from tests.conftest import SIGNING_SECRET, bot_env, populate, settle
from tests.e2e.browser.sharing import MAIL_FROM


@pytest.fixture(scope="module")
def web_bot(slack, redis_url, smtp_server, tmp_path_factory):
    env = bot_env(slack, redis_url, SMTP_URL=smtp_server.url, MAIL_FROM=MAIL_FROM)
    process = BotProcess(env, workdir=tmp_path_factory.mktemp("web-bot"))
    process.env["PUBLIC_URL"] = process.url  # its port is chosen before it starts
    with process:
        yield process


@pytest.fixture
def wsim(web_bot, slack, redis_sync, smtp):
    """Signed Slack requests to the web bot; Redis flushed, the stand-in's records and the
    SMTP server's mail cleared."""
    slack.reset()
    populate(slack)
    yield SlackSim(bot=web_bot, slack=slack, signing_secret=SIGNING_SECRET)
    settle(slack)
