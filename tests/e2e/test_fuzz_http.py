"""Hostile input, fuzzed: the real ASGI app over real HTTP, real Redis, the Slack stand-in.

Hypothesis draws Slack-shaped payloads and breaks them (devtools/harness/hostile.py). For
every request: the answer is 2xx or 4xx without a traceback, the bot logs no unhandled
error, and Redis is exactly as before, except for what a refusal legitimately writes:
`access_denied` and `rate_limited` events appended to the audit stream, and the attempt
counted in the actor's rate-limit window (the audit outbox's cursor and lease and the
sweep's cursor move on their own schedule and are left out). One server serves
the whole module, so that hundreds of examples run in seconds.
"""

from __future__ import annotations

import os
import time

import pytest
import redis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devtools.harness.clock import FakeClock
from devtools.harness.hostile import FORM, Targets, bodies
from devtools.harness.inprocess import InProcessBot
from devtools.harness.redis_state import assert_unchanged, snapshot
from devtools.harness.slack_client import SlackSim, signature
from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    EVE,
    GENERAL,
    SIGNING_SECRET,
    inprocess_settings,
    populate,
    settle,
)

pytestmark = pytest.mark.e2e

# The default run (CI) draws the same 300 examples every time, so that a merge is never
# failed by a lucky draw; FUZZ_EXAMPLES asks for a long run with fresh random examples
# (e.g. FUZZ_EXAMPLES=5000 before a release), which is how new crashes are found.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
CRASH_SIGNS = ("Traceback", "unhandled error", "background task", "Exception in ASGI",
               "Error handling request")


@pytest.fixture(scope="module")
def world(slack, redis_url):
    """A running bot, with secrets Alice shared with Bob (one plain, one locked with a
    passphrase) for hostile requests to aim at."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    slack.reset()
    populate(slack)
    with InProcessBot(inprocess_settings(slack, redis_url), clock=FakeClock()) as bot:
        sim = SlackSim(bot=bot, slack=slack, signing_secret=SIGNING_SECRET)
        for fields in ({}, {"passphrase": "blue-harbour-42"}):
            command = sim.slash_command(ALICE, GENERAL)
            view = sim.opened_view(command.trigger_id)
            assert sim.submit(ALICE, view, recipients=[BOB], secret="hunter2",
                              **fields).status == 200
            settle(slack)
        ids = tuple(button["value"] for _, button in sim.find_prompts(BOB))
        assert len(ids) == 2
        codes = tuple("-".join((i[:4], i[4:8], i[8:12])) for i in ids)
        yield bot, client, Targets(secret_ids=ids, outsiders=(EVE, CAROL), codes=codes)
    client.flushdb()
    client.close()


def quiet(bot: InProcessBot, timeout: float = 10.0) -> None:
    """Wait until the bot has no work in flight (what a request started has finished)."""
    deadline = time.monotonic() + timeout
    while bot.runtime.background.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not bot.runtime.background.in_flight, "work still running"


def post(bot: InProcessBot, body: bytes, content_type: str,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST to /slack/events, signed as Slack signs, or with exactly `headers`; header
    values are sent as UTF-8 bytes, as a hostile client may."""
    timestamp = str(int(time.time()))
    sent = headers if headers is not None else {
        "Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(SIGNING_SECRET, timestamp, body)}
    raw = {k: v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass")
           for k, v in sent.items()}
    return bot.request("POST", "/slack/events", body, raw)  # type: ignore[arg-type]


def check_answer(status: int, answer: bytes) -> None:
    assert 200 <= status < 500, (status, answer[:300])
    assert len(answer) < 100_000  # no echo of a huge input
    assert b"Traceback" not in answer, answer[:300]
    assert b'File "' not in answer, answer[:300]


def check_log(bot: InProcessBot, start: int) -> None:
    logged = bot.log_text()[start:]
    assert not any(sign in logged for sign in CRASH_SIGNS), logged[-3000:]


@FUZZ
@given(data=st.data())
def test_signed_hostile_requests_are_refused_politely_and_change_nothing(world, data):
    """A validly signed request with any broken, odd or misdirected payload gets a 2xx or
    4xx (never a 5xx or a traceback), crashes nothing, and changes nothing in Redis but
    the audit of a refusal."""
    bot, client, targets = world
    body, content_type = data.draw(bodies(targets), label="request")
    before, log_start = snapshot(client), len(bot.log_text())
    status, answer = post(bot, body, content_type)
    check_answer(status, answer)
    event(f"HTTP {status}" + (" malformed" if b"malformed" in answer else ""))
    quiet(bot)
    check_log(bot, log_start)
    if assert_unchanged(before, snapshot(client)):
        event("refusal audited")


def _header_safe(text: str) -> str:
    return "".join(c for c in text if c not in "\r\n\x00")  # HTTP cannot carry these


# Header sets that must each fail verification; None: leave the header out.
BAD_SIGNATURES = st.one_of(
    st.just({"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None}),
    st.just({"X-Slack-Signature": None}),
    st.just({"X-Slack-Request-Timestamp": None}),
    st.fixed_dictionaries({"X-Slack-Signature": st.text(max_size=80).map(_header_safe)}),
    st.builds(lambda sig: {"X-Slack-Signature": "v0=" + sig},
              st.text("0123456789abcdef", min_size=64, max_size=64)),
    # Signed properly, but too old or from the future (seconds from the time of sending;
    # Slack's window is five minutes, and a margin keeps a slow run from passing).
    st.builds(lambda shift: {"shift": shift, "resign": "1"}, st.one_of(
        st.integers(min_value=-10**9, max_value=-330), st.integers(min_value=330,
                                                                   max_value=10**12))),
    st.builds(lambda ts: {"X-Slack-Request-Timestamp": ts, "resign": "1"},
              st.one_of(st.sampled_from(["", "-1", "1e9", " 1", "0x10", "\u0661\u0662\u0663",
                                         "99999999999999999999", "NaN", "{now}.0",
                                         "+{now}", "{now} "]),
                        st.text(max_size=20).map(_header_safe))),
    # Raw header bytes: the server reads them as Latin-1, where b"\xb2" is "²", a digit
    # to str.isdigit() that int() refuses.
    st.builds(lambda raw: {"X-Slack-Request-Timestamp": raw}, st.one_of(
        st.sampled_from([b"\xb2", b"1\xb3", b"\xb9" * 10]),
        st.binary(min_size=1, max_size=12).map(
            lambda b: bytes(c for c in b if c not in b"\r\n\x00") or b"\xb2"))))


@FUZZ
@given(data=st.data())
def test_badly_signed_requests_are_refused_before_parsing(world, data):
    """Without a valid, fresh signature every request gets 401 and nothing runs: missing
    headers, a wrong signature, a stale or future or unreadable timestamp (the last
    signed correctly over it, so only the timestamp is wrong)."""
    bot, client, targets = world
    body, content_type = data.draw(bodies(targets), label="request")
    bad = dict(data.draw(BAD_SIGNATURES, label="signature headers"))
    timestamp = str(int(time.time()))
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature(SIGNING_SECRET, timestamp, body)}
    if "shift" in bad:
        bad["X-Slack-Request-Timestamp"] = str(int(time.time()) + bad.pop("shift"))
    if bad.pop("resign", None) and isinstance(bad["X-Slack-Request-Timestamp"], str):
        timestamp = bad["X-Slack-Request-Timestamp"].replace("{now}", str(int(time.time())))
        bad["X-Slack-Request-Timestamp"] = timestamp
        bad["X-Slack-Signature"] = signature(SIGNING_SECRET, timestamp, body)
    headers.update(bad)
    headers = {k: v for k, v in headers.items() if v is not None}
    before, log_start = snapshot(client), len(bot.log_text())
    status, answer = post(bot, body, content_type, headers)
    if status == 400 and answer == b"Invalid HTTP request received.":
        return  # not even HTTP (a control character in a header): uvicorn refused it
    if status == 413:
        return  # too large to read: refused before the signature is checked
    assert status == 401, (status, answer)
    assert answer == b'{"error": "invalid request"}'
    quiet(bot)
    check_log(bot, log_start)
    assert_unchanged(before, snapshot(client))


@pytest.mark.parametrize("body", [
    b"payload=" + b"A" * (512 * 1024), b"{" + b" " * (600 * 1024) + b"}"])
def test_oversized_bodies_get_413(world, body):
    """A body over 512 KiB is refused with 413, signed or not, before it is read in full."""
    bot, client, _ = world
    before = snapshot(client)
    assert post(bot, body, FORM)[0] == 413
    assert bot.request("POST", "/slack/events", body, {"Content-Type": FORM})[0] == 413
    assert_unchanged(before, snapshot(client))
