"""Logs: JSON lines with request context, and no secret, passphrase, token or key in them
at any level, on errors and tracebacks included (the real bot, LOG_LEVEL=DEBUG)."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from urllib.parse import urlencode

import pytest
import redis

from bot.telemetry import context
from bot.telemetry.logformat import JsonFormatter, TextFormatter
from bot.telemetry.scrub import REDACTED, Scrubber
from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_server import throwaway_redis
from tests.conftest import (
    ALICE,
    BOB,
    BOT_TOKEN,
    EVE,
    GENERAL,
    SIGNING_SECRET,
    bot_env,
    bot_on_db,
    settle,
    sim_for,
)

SECRET = "correct-horse-battery-staple-4471"
LOCKED_SECRET = "AKIAZZTOPSECRET9981/wJalrXUtnFEMI"
PASSPHRASE = "amber-falcon-81"
WRONG_PASSPHRASE = "amber-falcon-82"
CORRUPT = "MARKER-fmt-value-5531"  # a stored value an exception message would quote
MALFORMED = "malformed-payload-secret-2208"
KEY_MATERIAL = bytes(range(32))  # TEST_KEYS in conftest


def needles() -> dict[str, str]:
    """Everything that must never reach the log, by name."""
    return {"secret": SECRET, "locked secret": LOCKED_SECRET, "passphrase": PASSPHRASE,
            "wrong passphrase": WRONG_PASSPHRASE, "value quoted by an exception": CORRUPT,
            "malformed payload content": MALFORMED, "bot token": BOT_TOKEN,
            "bot token secret part": BOT_TOKEN.rsplit("-", 1)[1],
            "signing secret": SIGNING_SECRET,
            "key (base64)": base64.b64encode(KEY_MATERIAL).decode(),
            "key (hex)": KEY_MATERIAL.hex()}


def json_lines(text: str) -> list[dict]:
    """Every line parsed as JSON (fails on the first line that is not an object)."""
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = json.loads(line)  # raises on any non-JSON line
        assert isinstance(value, dict), f"line {number} is not an object: {line}"
        assert {"timestamp", "level", "logger", "message"} <= set(value), line
        parsed.append(value)
    return parsed


def assert_clean(text: str) -> None:
    for name, needle in needles().items():
        assert needle not in text, f"the {name} is in the log"


@pytest.fixture(scope="module")
def logged(slack, redis_url, tmp_path_factory):
    with bot_on_db(slack, redis_url, 2, tmp_path_factory.mktemp("logged"), LOG_FORMAT="json",
                   LOG_LEVEL="DEBUG") as logged_bot:
        yield logged_bot


def share(sim, recipients, secret, **fields):
    command = sim.slash_command(ALICE, GENERAL)
    view = sim.opened_view(command.trigger_id)
    reply = sim.submit(ALICE, view, recipients=recipients, secret=secret, **fields)
    assert reply.status == 200
    settle(sim.slack)


def test_json_logs_carry_context_and_never_a_secret(logged, slack):
    """Shares, reveals, refusals, a passphrase typed wrong then right, Slack failures,
    malformed payloads and an exception inside a listener (and in a background task)
    leave JSON lines only, with request context, and no secret, passphrase, token or key."""
    bot, url = logged
    sim = sim_for(bot, slack)
    share(sim, [BOB], SECRET)
    message, button = sim.reveal_prompt(BOB)
    assert SECRET in json.dumps(sim.shown_view(sim.click(BOB, message, button).trigger_id))
    sim.shown_view(sim.click(EVE, message, button).trigger_id)  # not for her
    sim.shown_view(sim.click(BOB, message, button).trigger_id)  # used up

    # A passphrase typed wrong, then right.
    share(sim, [BOB], LOCKED_SECRET, passphrase=PASSPHRASE)
    message, button = sim.reveal_prompt(BOB)
    form = sim.opened_view(sim.click(BOB, message, button).trigger_id)
    for typed, updates in ((WRONG_PASSPHRASE, 1), (PASSPHRASE, 2)):
        sim.submit_passphrase(BOB, form, typed)
        slack.wait_for("views.update", count=updates)

    # Slack failing: the modal refused, deliveries rate limited, an answer lost.
    slack.rate_limit("chat.postEphemeral", retry_after=1, times=1)
    slack.lose_answers("chat.postMessage", times=1)
    share(sim, [BOB], SECRET)
    message, button = sim.reveal_prompt(BOB)
    slack.fail("views.open", error="internal_error", times=1)
    sim.click(BOB, message, button)
    settle(slack)

    # Malformed payloads (signed, so they get past the signature check), and an
    # unsigned one.
    for body in (urlencode({"payload": '{"type": "view_submission", "view": "' + MALFORMED}),
                 urlencode({"payload": json.dumps({"type": "block_actions", "actions": [
                     {"action_id": "reveal_secret", "value": {"x": MALFORMED}}],
                     "user": {"id": BOB}, "team": {"id": slack.team_id}})}),
                 urlencode({"command": "/share-secret", "text": MALFORMED, "user_id": ALICE,
                            "team_id": slack.team_id})):
        assert sim.post(body.encode()).status < 500
    assert sim.post(b"\xff\xfe" + MALFORMED.encode()).status == 400
    assert sim.post(MALFORMED.encode(), secret="not-the-signing-secret").status == 401

    # An exception inside a listener and inside a background task: a stored value that
    # no version writes makes reading the secret's record raise, and the exception's
    # message would quote it.
    share(sim, [BOB], SECRET)
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match="ss:{*}:m"):
        client.hset(key, "fmt", CORRUPT)
    assert sim.slash_command(ALICE, GENERAL, "list").status == 500
    sim.open_home(ALICE)
    settle(slack)
    time.sleep(0.3)

    text = bot.log_text()
    lines = json_lines(text)
    assert_clean(text)
    assert {"DEBUG", "INFO", "WARNING", "ERROR"} <= {line["level"] for line in lines}
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert any("unhandled error in a listener: ValueError" in e["message"] for e in errors)
    assert any("background task" in e["message"] and "ValueError" in e["message"]
               for e in errors)

    # One slack_request event per request, with its context; what a request caused
    # afterwards (the audit event of a reveal, in a background task) shares its id.
    requests = [line for line in lines if line.get("event") == "slack_request"
                and "kind" in line]
    assert requests
    for line in requests:
        assert len(line["request_id"]) == 16
        assert line["kind"] in {"command", "block_actions", "view_submission", "event",
                                "other"}
        assert isinstance(line["duration_ms"], float)
        assert line["outcome"] in {"ok", "error"}
    opened = [line for line in lines if line.get("audit_event") == "secret_opened"]
    assert opened
    click = next(line for line in requests if line["request_id"] == opened[0]["request_id"])
    assert click["user_id"] == BOB
    assert click["team_id"] == slack.team_id
    assert click["action"] == "reveal_secret"
    assert opened[0]["user_id"] == BOB
    assert len({line["request_id"] for line in requests}) == len(requests)


def test_redis_down_logs_nothing_secret(slack, tmp_path):
    """With Redis gone mid-way, shares and reveals fail politely and the log (JSON only)
    still holds no secret or passphrase."""
    server = throwaway_redis()
    url = server.__enter__()
    env = bot_env(slack, url, LOG_FORMAT="json", LOG_LEVEL="DEBUG",
                  SWEEP_INTERVAL_SECONDS="0.2")
    bot = BotProcess(env, workdir=tmp_path)
    try:
        bot.start()
        sim = sim_for(bot, slack)
        share(sim, [BOB], SECRET, passphrase=PASSPHRASE)
        message, button = sim.reveal_prompt(BOB)
    finally:
        server.__exit__(None, None, None)  # Redis stops here
    try:
        command = sim.slash_command(ALICE, GENERAL)
        view = sim.opened_view(command.trigger_id)
        reply = sim.submit(ALICE, view, recipients=[BOB], secret=LOCKED_SECRET,
                           passphrase=PASSPHRASE)
        assert reply.status == 200
        sim.click(BOB, message, button)
        assert bot.get("/readyz")[0] == 503  # not ready; /healthz (liveness) stays 200
        time.sleep(0.5)  # a few sweeps fail
        settle(slack)
    finally:
        bot.stop()
    text = bot.log_text()
    json_lines(text)
    assert_clean(text)
    assert "unreachable" in text


# -- the formatters and the scrubber, in this process ----------------------------------

def _record(message: str, *args: object, exc: BaseException | None = None,
            **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("bot.test", logging.ERROR, __file__, 1, message, args,
                               (type(exc), exc, exc.__traceback__) if exc else None)
    record.__dict__.update(extra)
    return record


def _raised(text: str) -> BaseException:
    try:
        try:
            raise KeyError(text)
        except KeyError as inner:
            raise ValueError(text) from inner
    except ValueError as exc:
        return exc


def test_exceptions_are_logged_by_type_and_frames_never_by_message():
    """An exception's message (which may quote a payload) is left out, its chain kept."""
    scrubber = Scrubber()
    for formatter in (JsonFormatter(scrubber), TextFormatter(scrubber)):
        line = formatter.format(_record("failed", exc=_raised(SECRET)))
        assert SECRET not in line
        assert "builtins.ValueError" in line
        assert "builtins.KeyError" in line
        assert "_raised" in line  # the frames


def test_scrubber_redacts_tokens_and_configured_values():
    """Token-shaped strings and the configured credentials become [redacted]."""
    scrub = Scrubber([SIGNING_SECRET, "short"])
    text = scrub(f"a {BOT_TOKEN} b xapp-1-A0001-1-abcdef c xoxp-1234-5678-abcdef "
                 f"d {SIGNING_SECRET} e short")
    assert BOT_TOKEN not in text
    assert "xapp-1" not in text
    assert "xoxp-" not in text
    assert SIGNING_SECRET not in text
    assert text.count(REDACTED) == 4
    assert text.endswith("e short")  # too short to match safely: left alone


def test_json_lines_carry_the_bound_context_and_extras():
    """Fields bound for a request and `extra=` fields appear in the JSON object; a secret
    formatted in by mistake is redacted by the scrubber."""
    formatter = JsonFormatter(Scrubber([SIGNING_SECRET]))
    with context.scope(request_id="abc123", team_id="T1", user_id="U1", action="go"):
        line = json.loads(formatter.format(_record("oops %s", SIGNING_SECRET, outcome="ok",
                                                   duration_ms=1.5)))
    assert line["request_id"] == "abc123"
    assert line["team_id"] == "T1"
    assert line["user_id"] == "U1"
    assert line["action"] == "go"
    assert line["outcome"] == "ok"
    assert line["duration_ms"] == 1.5
    assert line["message"] == f"oops {REDACTED}"
    assert line["timestamp"].endswith("Z")
    assert "request_id" not in json.loads(formatter.format(_record("later")))


def test_log_format_auto_is_text_on_a_terminal_and_json_elsewhere():
    """LOG_FORMAT=auto: text for a person at a terminal, JSON for anything else."""
    from bot.telemetry.logs import resolve_format

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("JSON", Terminal()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"
