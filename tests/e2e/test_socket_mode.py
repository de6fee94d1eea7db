"""End to end in Socket Mode: the real bot process connects out to the Slack stand-in's
websocket and serves the same handlers as over HTTP, with a real Redis.

The bot runs without SLACK_SIGNING_SECRET throughout: Socket Mode requests are not
signed, the websocket is authenticated by the app-level token instead.
"""

from __future__ import annotations

import http.client
import json
import time

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.socket_client import SocketSim
from tests.conftest import (
    ALICE,
    BOB,
    DEPLOYBOT,
    GENERAL,
    audit_lines,
    bot_env,
    populate,
    preformatted,
    redis_contents,
    sent_outside_reveals,
    settle,
    stored_secrets,
    view_text,
)

pytestmark = pytest.mark.e2e

SECRET = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def socket_env(slack, redis_url: str) -> dict[str, str]:
    """The bot's settings for Socket Mode: an app token, and no signing secret at all."""
    env = bot_env(slack, redis_url, SLACK_APP_TOKEN=slack.app_token)
    del env["SLACK_SIGNING_SECRET"]
    return env


def start_socket_bot(slack, redis_url: str, workdir) -> BotProcess:
    """Start `python -m bot` in Socket Mode; ready once its websocket is connected."""
    before = slack.socket.connections
    process = BotProcess(socket_env(slack, redis_url), workdir=workdir,
                         ready=lambda: slack.socket.connections > before
                         and slack.socket.open_connections > 0)
    return process.start()


@pytest.fixture(scope="module")
def socket_bot(slack, redis_url, tmp_path_factory):
    process = start_socket_bot(slack, redis_url, tmp_path_factory.mktemp("socket-bot"))
    yield process
    process.stop()


@pytest.fixture
def sim(socket_bot, slack, redis_sync):
    """Envelopes to the running bot; Redis flushed and stand-in records cleared."""
    slack.reset()
    populate(slack)
    yield SocketSim(slack=slack)
    settle(slack)


def test_share_reveal_and_refusal_over_socket_mode(sim, slack, socket_bot, redis_sync):
    """Command, submission and clicks arrive as envelopes, are acked in time, and the
    bot opens the form, delivers the Reveal message, shows the secret once, refuses again."""
    command = sim.slash_command(ALICE, GENERAL, f"<@{BOB}|bob>")
    assert command.ack == {"envelope_id": command.envelope_id}  # an empty answer
    form = sim.opened_view(command.trigger_id)
    assert form["blocks"][0]["element"]["initial_users"] == [BOB]

    submitted = sim.submit(ALICE, form, recipients=[BOB], secret=SECRET)
    assert submitted.payload is None  # the modal closes
    message, button = sim.reveal_prompt(BOB)
    assert message.ephemeral_to == BOB
    assert message.channel == GENERAL

    click = sim.click(BOB, message, button)
    assert click.payload is None
    shown = sim.shown_view(click.trigger_id)
    assert preformatted(shown) == SECRET
    replaced = slack.wait_for("response_url")[0]
    assert replaced.params["replace_original"] is True
    assert replaced.context["message_ts"] == message.ts

    again = sim.click(BOB, message, button)
    assert "no longer available" in view_text(sim.shown_view(again.trigger_id))
    created, opened = audit_lines(slack, 2)[:2]
    assert "Secret created" in created
    assert "Secret opened" in opened

    # The plaintext went to the reveal modal only: not to the log (at DEBUG), Redis,
    # any acknowledgement, or any other call.
    assert SECRET not in socket_bot.log_text()
    assert not [v for v in redis_contents(redis_sync) if SECRET.encode() in v]
    assert not [a for a in slack.socket.acks if SECRET in json.dumps(a.message)]
    assert sent_outside_reveals(slack, SECRET) == []

    # Each envelope is logged as one JSON event under a request id of its own, and
    # what it caused (the audit event of the reveal) carries the same id.
    lines = [json.loads(line) for line in socket_bot.log_text().splitlines()]
    clicks = [line for line in lines if line.get("event") == "slack_request"
              and line.get("kind") == "block_actions" and line.get("user_id") == BOB]
    assert len(clicks) >= 2
    assert len({line["request_id"] for line in clicks}) == len(clicks)
    opened_ids = {line["request_id"] for line in lines
                  if line.get("audit_event") == "secret_opened"}
    assert opened_ids & {line["request_id"] for line in clicks}


@pytest.mark.parametrize(("recipients", "secret", "block", "words"), [
    ([], SECRET, "recipients", "at least one"),
    ([BOB, DEPLOYBOT], SECRET, "recipients", "deploybot (a bot)"),
    ([BOB], "   ", "secret", "Type or paste"),
])
def test_invalid_input_is_answered_in_the_ack(sim, slack, redis_sync, recipients, secret,
                                              block, words):
    """Bad input comes back as the ack's payload (response_action errors); nothing stored."""
    command = sim.slash_command(ALICE, GENERAL)
    reply = sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=recipients,
                       secret=secret)
    assert reply.payload["response_action"] == "errors"
    assert words in reply.payload["errors"][block]
    time.sleep(0.2)
    assert stored_secrets(redis_sync) == []


def test_help_is_the_ack_payload(sim, slack):
    """`/share-secret help` is answered in the ack itself, privately, with no modal."""
    reply = sim.slash_command(ALICE, GENERAL, "help")
    assert reply.payload["response_type"] == "ephemeral"
    assert "Reveal" in reply.payload["text"]
    time.sleep(0.2)
    assert slack.calls_to("views.open") == []


def test_reconnects_after_the_connection_drops(sim, slack):
    """When Slack closes the websocket, the bot asks for a new URL, reconnects by itself
    and serves the next command."""
    before = slack.socket.connections
    slack.socket.drop()
    slack.socket.wait_connected(before + 1, timeout=15.0)
    [reopen] = slack.calls_to("apps.connections.open")
    assert reopen.ok
    assert reopen.headers["Authorization"] == f"Bearer {slack.app_token}"
    command = sim.slash_command(ALICE, GENERAL)
    assert sim.opened_view(command.trigger_id)["type"] == "modal"


def test_reconnects_when_slack_asks_to_refresh(sim, slack):
    """A `disconnect` (refresh_requested) message makes the bot move to a new connection."""
    before = slack.socket.connections
    slack.socket.disconnect("refresh_requested")
    slack.socket.wait_connected(before + 1, timeout=15.0)
    assert len(slack.calls_to("apps.connections.open")) == 1
    command = sim.slash_command(ALICE, GENERAL)
    assert sim.opened_view(command.trigger_id)["type"] == "modal"


def test_socket_mode_needs_no_signing_secret_and_serves_no_http(socket_bot, sim):
    """The bot runs with an app token and no SLACK_SIGNING_SECRET, and listens on no port."""
    assert "SLACK_SIGNING_SECRET" not in socket_bot.env
    assert socket_bot.env["SLACK_APP_TOKEN"].startswith("xapp-")
    with pytest.raises(ConnectionRefusedError):
        socket_bot.get("/healthz")
    assert sim.slash_command(ALICE, GENERAL, "help").payload["text"]


def test_with_public_url_it_serves_the_web_pages_over_http(slack, redis_url, tmp_path):
    """With PUBLIC_URL, the Socket Mode process listens on HOST:PORT for the web pages
    (and health), with the security headers, but takes no Slack events there; SIGTERM
    stops both and exits 0."""
    before = slack.socket.connections
    env = {**socket_env(slack, redis_url), "PUBLIC_URL": "https://secrets.example.com"}
    process = BotProcess(env, workdir=tmp_path, ready=lambda: slack.socket.connections
                         > before and slack.socket.open_connections > 0).start()
    try:
        assert process.get("/robots.txt") == (200, b"User-agent: *\nDisallow: /\n")
        assert process.get("/healthz")[0] == 200
        assert process.get("/static/page.css")[0] == 200
        assert process.get("/s/ZZZZZZZZZZZZabcdefgh_-012345")[0] == 404
        assert process.request("POST", "/slack/events", b"{}")[0] == 404
        conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=10)
        conn.request("GET", "/robots.txt")
        headers = dict(conn.getresponse().getheaders())
        conn.close()
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert headers["strict-transport-security"].startswith("max-age=")
    finally:
        process.stop()
    assert process.returncode == 0
    assert "Traceback" not in process.log_text()


def test_sigterm_closes_the_websocket_and_exits_cleanly(slack, redis_url, tmp_path):
    """On SIGTERM the bot closes its connection and exits with status 0."""
    process = start_socket_bot(slack, redis_url, tmp_path)
    open_before = slack.socket.open_connections
    process.stop()
    assert process.returncode == 0
    deadline = time.monotonic() + 5
    while slack.socket.open_connections >= open_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slack.socket.open_connections == open_before - 1


# -- start-up when Slack refuses the connection ------------------------------------------


def test_sigterm_stops_the_bot_while_slack_refuses_connections(slack, redis_url, tmp_path):
    """While apps.connections.open keeps failing (a transient error, so the bot keeps
    trying), SIGTERM still stops the bot at once, with status 0."""
    tried = len(slack.calls_to("apps.connections.open"))
    slack.fail("apps.connections.open", error="internal_error", times=None)
    process = BotProcess(socket_env(slack, redis_url), workdir=tmp_path,
                         ready=lambda: len(slack.calls_to("apps.connections.open")) > tried)
    try:
        process.start()
        process.stop(timeout=3.0)
    finally:
        slack.clear_faults()
    assert process.returncode == 0


def test_a_refused_app_token_stops_start_up_with_a_config_error(slack, redis_url, tmp_path):
    """An app token Slack refuses (invalid_auth) ends start-up with status 2, naming the
    variable and not its value, as other configuration errors do."""
    env = {**socket_env(slack, redis_url), "SLACK_APP_TOKEN": "xapp-1-A0001-1-revoked"}
    tried = len(slack.calls_to("apps.connections.open"))
    process = BotProcess(env, workdir=tmp_path, ready=lambda: True).start()
    # Timed from Slack's refusal, not from the process start: interpreter start-up on a
    # loaded machine is not what this test measures.
    slack.wait_for("apps.connections.open", count=tried + 1, timeout=20)
    deadline = time.monotonic() + 3.0
    while process.returncode is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.stop(timeout=1.0)
    assert process.returncode == 2
    assert "SLACK_APP_TOKEN" in process.log_text()
    assert "xapp-1-A0001-1-revoked" not in process.log_text()
