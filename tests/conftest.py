"""Shared fixtures: a real Redis (REDIS_URL, or a throwaway server) and test keys."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis
from pytest_redis import factories

from bot.crypto import MasterKey, StaticKeyRing
from devtools.harness.redis_state import redis_contents, strings_in  # noqa: F401

# Started only when REDIS_URL is not set: a redis-server of our own on a free port.
throwaway_redis = factories.redis_proc(port=None)

TEST_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """A Redis the tests may flush: REDIS_URL when set, else a throwaway server."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    proc = request.getfixturevalue("throwaway_redis")
    return f"redis://{proc.host}:{proc.port}/0"


@pytest.fixture
def redis_sync(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on a database flushed around the test."""
    with flushed(redis_url) as client:
        yield client


@contextmanager
def flushed(url: str) -> Iterator[redis.Redis]:
    """A plain client of `url`'s database, flushed before and after."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def own_db(redis_url: str, db: int) -> str:
    """The URL of database `db` of the test Redis: a test's own bot there shares no keys
    with the session's bot (database 0)."""
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture
async def store(redis_url, redis_sync):
    """The bot's secret store on the flushed test database (one hour of retention)."""
    from bot.storage import KeySpace, RedisSecretStore, connect

    client = connect(redis_url)
    yield RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring_of_test_keys(),
                           metadata_retention_seconds=3600)
    await client.aclose()


def inprocess_settings(slack, redis_url: str, **overrides):
    """Settings for the app run in this process against the stand-in (no sweeps: tests
    run them; audit posted quickly)."""
    from bot.config import Settings

    values = {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET,
              "slack_api_url": slack.base_url, "redis_url": redis_url,
              "encryption_keys": TEST_KEYS, "audit_channel_id": AUDIT_CHANNEL,
              "sweep_interval_seconds": 0, "audit_post_interval_seconds": 0.05, **overrides}
    return Settings(_env_file=None, **values)


def keyring_of_test_keys() -> StaticKeyRing:
    """The key ring of TEST_KEYS."""
    return StaticKeyRing([MasterKey("k1", bytes(range(32)))])


@pytest.fixture
def keyring() -> StaticKeyRing:
    return keyring_of_test_keys()


# -- the real bot against the Slack stand-in --------------------------------------------

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
AUDIT_CHANNEL = "C0AUDIT"
# What a Prometheus scraping the bots the tests start sends (bot_env sets the token).
METRICS_TOKEN = "test-metrics-token-5f0c2a9d"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
GENERAL = "C0GENERAL"
ALICE, BOB, CAROL, EVE, DEPLOYBOT = "U0ALICE", "U0BOB", "U0CAROL", "U0EVE", "U0DEPLOYBOT"


def populate(slack) -> None:
    """Acme's workspace: #general holds alice, bob and eve; carol is elsewhere."""
    for user_id, name in [(ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (EVE, "eve")]:
        slack.add_user(user_id, name)
    slack.add_user(DEPLOYBOT, "deploybot", is_bot=True)
    slack.add_user("U0GONE", "gone", deleted=True)
    slack.add_channel(GENERAL, "general", members=[ALICE, BOB, EVE])
    slack.add_channel(AUDIT_CHANNEL, "share-secret-audit", members=[ALICE])


@pytest.fixture(scope="session")
def slack():
    from devtools.slack_stand_in import SlackStandIn

    with SlackStandIn(bot_token=BOT_TOKEN, team_id="T0ACME", team_domain="acme") as stand_in:
        populate(stand_in)
        yield stand_in


def bot_env(slack, redis_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url, "REDIS_URL": redis_url,
        "ENCRYPTION_KEYS": TEST_KEYS, "AUDIT_CHANNEL_ID": AUDIT_CHANNEL,
        # DEBUG on purpose: the leak checks must hold at the chattiest level.
        "LOG_LEVEL": "DEBUG",
        "AUDIT_POST_INTERVAL_SECONDS": "0.05",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    env.update(overrides)
    return env


@contextmanager
def bot_with(slack, redis_url: str, workdir: Path, **env: str):
    """`python -m bot` on `redis_url` against the stand-in, with bot_env's settings and
    `env` over them; stopped afterwards."""
    from devtools.harness.bot_process import BotProcess

    with BotProcess(bot_env(slack, redis_url, **env), workdir=workdir) as process:
        yield process


@contextmanager
def bot_on_db(slack, redis_url: str, db: int, workdir: Path, **env: str):
    """bot_with on database `db` of the test Redis, emptied first, so that what a test
    counts or reads there is its own bot's; yields the bot and the database's URL."""
    url = own_db(redis_url, db)
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    with bot_with(slack, url, workdir, **env) as process:
        yield process, url


@contextmanager
def bots_with(slack, redis_url: str, workdirs: list[Path], **env: str):
    """One bot_with per workdir, all on `redis_url` with the same settings (replicas)."""
    with ExitStack() as stack:
        yield [stack.enter_context(bot_with(slack, redis_url, workdir, **env))
               for workdir in workdirs]


def sim_for(bot, slack):
    """Signed requests to `bot`, with the stand-in's records cleared and Acme's workspace
    set up again."""
    from devtools.harness.slack_client import SlackSim

    slack.reset()
    populate(slack)
    return SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)


@pytest.fixture(scope="session")
def bot(slack, redis_url, tmp_path_factory):
    with bot_with(slack, redis_url, tmp_path_factory.mktemp("bot")) as process:
        yield process


@pytest.fixture
def sim(bot, slack, redis_sync):
    """Signed requests to the running bot; Redis flushed and stand-in records cleared."""
    yield sim_for(bot, slack)
    settle(slack)


def settle(slack, quiet: float = 0.15, timeout: float = 5.0) -> None:
    """Wait until the bot has made no Slack call for `quiet` seconds, so work a test
    started after its last assertion (a receipt, an audit post) cannot spill into the
    next test."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        count = len(slack.calls)
        if count == seen:
            return
        seen = count
        time.sleep(quiet)


def wait_until(condition: Callable[[], object], *, what: str = "condition",
               timeout: float = 15.0, poll: float = 0.02) -> None:
    """Poll `condition` until it holds; fail the test, naming `what`, after `timeout`
    seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def audit_lines(slack, count: int, timeout: float = 10.0) -> list[str]:
    """Wait until the admin channel holds at least `count` audit lines (the outbox may
    group several events into one message); return them in order."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for call in slack.calls_to("chat.postMessage")
                 if call.ok and call.params.get("channel") == AUDIT_CHANNEL
                 for line in call.params.get("text", "").split("\n")]
        if len(lines) >= count or time.monotonic() > deadline:
            assert len(lines) >= count, f"{len(lines)} audit lines, wanted {count}: {lines}"
            return lines
        time.sleep(0.02)


def stored_secrets(client: redis.Redis) -> list[bytes]:
    """Every key except the audit log's (which records refusals too) and the sweep's
    reminder cursor (the session's bot sweeps on its own schedule)."""
    return [k for k in client.scan_iter()
            if b"{audit}" not in k and not k.endswith(b":reminded-until")]


def sent_outside_reveals(slack, needle: str) -> list[str]:
    """Descriptions of calls to Slack, other than the views showing a secret, that carry
    `needle` anywhere in their arguments."""
    def reveals(call) -> bool:
        view = call.params.get("view") if isinstance(call.params.get("view"), dict) else {}
        return call.method in {"views.open", "views.update"} and \
            view.get("title", {}).get("text") == "Your secret"
    return [call.describe() for call in slack.calls if not reveals(call)
            and any(needle in s for s in strings_in(dict(call.params)))]


def preformatted(view) -> str | None:
    """The text of the view's preformatted block (where a revealed secret is shown), or
    None when it has none."""
    for block in view["blocks"]:
        if block["type"] == "rich_text":
            return block["elements"][0]["elements"][0]["text"]
    return None


def view_text(view) -> str:
    """The view's blocks as JSON, for checks of what it says."""
    return json.dumps(view["blocks"])


# -- a real browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, one per test module (launching takes ~1 s).

    Playwright's sync API marks its event loop as running in this thread for as long as it
    is open, and no `async def` test can run meanwhile: so browser tests are plain `def`
    tests in modules of their own, and the browser closes when its module ends."""
    from devtools.harness.browser import launch_chromium

    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A fresh page in a context of its own: no cookies or storage left by other tests."""
    from devtools.harness.browser import open_page

    with open_page(browser) as fresh:
        yield fresh


# -- a real SMTP server ------------------------------------------------------------------

@pytest.fixture(scope="session")
def smtp_server():
    """aiosmtpd on a free local port for the whole session (plain SMTP): SMTP_URL for the
    bots the tests start is `smtp_server.url`."""
    from devtools.harness.smtp_server import SmtpServer

    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp(smtp_server):
    """The session's SMTP server, emptied of earlier tests' mail."""
    smtp_server.clear()
    return smtp_server


def with_api_tokens(redis_url: str, use, *, prefix: str = "ss"):
    """`await use(tokens)` with the API token service on `redis_url` (TEST_KEYS, `prefix`),
    from synchronous test code; its result."""
    from bot.api.tokens import ApiTokens
    from bot.storage import KeySpace, connect

    async def run():
        client = connect(redis_url)
        try:
            return await use(ApiTokens(client, keys=KeySpace(prefix),
                                       keyring=keyring_of_test_keys()))
        finally:
            await client.aclose()
    return asyncio.run(run())
