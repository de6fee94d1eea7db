"""Both of the stand-in's transports (a thread per connection, one event loop) answer the
same on the wire: HTTP details, waits, and answers held, stalled or lost."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient

from devtools.slack_stand_in import SlackStandIn
from devtools.slack_stand_in.server import MAX_BODY_BYTES

TOKEN = "xoxb-transport"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POST_JSON = {**AUTH, "Content-Type": "application/json; charset=utf-8"}


@pytest.fixture(params=["threads", "asyncio"])
def slack(request: pytest.FixtureRequest):
    with SlackStandIn(TOKEN, transport=request.param) as stand_in:
        stand_in.add_user("U0ALICE", "alice")
        stand_in.add_channel("C0GENERAL", "general", members=["U0ALICE"])
        yield stand_in


def _connection(slack: SlackStandIn, timeout: float = 5) -> http.client.HTTPConnection:
    parts = urlsplit(slack.root_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _raw(slack: SlackStandIn, data: bytes) -> bytes:
    """Send raw bytes; return everything the server sends until it closes."""
    parts = urlsplit(slack.root_url)
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        # A server that refuses a body may close before it is all sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    return received


def test_unknown_transport_is_refused():
    """A transport name other than threads or asyncio is a ValueError."""
    with pytest.raises(ValueError, match="transport"):
        SlackStandIn(TOKEN, transport="carrier-pigeon")


def test_keep_alive_answers_carry_content_length_and_headers(slack):
    """Three calls on one connection, each answered with an exact Content-Length, the
    JSON type and the scope headers."""
    connection = _connection(slack)
    try:
        for _ in range(3):
            connection.request("POST", "/api/auth.test", headers=AUTH)
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status == 200
            assert int(answer.getheader("Content-Length")) == len(body)
            assert answer.getheader("Content-Type") == "application/json; charset=utf-8"
            assert answer.getheader("x-oauth-scopes")
            assert answer.getheader("Server", "").startswith("SlackStandIn/1.0")
    finally:
        connection.close()


def test_chunked_bodies_are_read(slack):
    """A chunked JSON body is decoded like one with a Content-Length."""
    body = b'{"channel": "C0GENERAL", "text": "chunked hello"}'
    chunks = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n"
                      for part in (body[:10], body[10:]))
    raw = (b"POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\n"
           b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
           b"Content-Type: application/json; charset=utf-8\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    answer = _raw(slack, raw)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b'"ok": true' in answer
    [message] = slack.messages("C0GENERAL")
    assert message.text == "chunked hello"


def test_bodies_over_the_cap_get_413_and_close(slack):
    """A declared or chunked body over MAX_BODY_BYTES is refused with 413 and the
    connection closes; nothing is recorded."""
    declared = (b"POST /api/auth.test HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                b"Content-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n")
    assert _raw(slack, declared).startswith(b"HTTP/1.1 413 ")
    size = MAX_BODY_BYTES + 1
    chunked = (b"POST /api/auth.test HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + f"{size:x}\r\n".encode()
               + b"x" * size + b"\r\n0\r\n\r\n")
    answer = _raw(slack, chunked)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in answer
    assert slack.calls == []


def test_malformed_requests_and_other_verbs_are_refused(slack):
    """A request that does not parse is 400; a verb other than GET and POST is 501."""
    assert _raw(slack, b"POST /api/auth.test HTTP/1.1\r\nContent-Length: x\r\n\r\n"
                ).startswith(b"HTTP/1.1 400 ")
    assert _raw(slack, b"DELETE /api/auth.test HTTP/1.1\r\nHost: x\r\n\r\n"
                ).startswith(b"HTTP/1.1 501 ")


def test_rate_limit_answers_429_with_retry_after(slack):
    """An armed rate limit is HTTP 429 with Retry-After and error ratelimited."""
    slack.rate_limit("auth.test", retry_after=7)
    connection = _connection(slack)
    try:
        connection.request("POST", "/api/auth.test", headers=AUTH)
        answer = connection.getresponse()
        assert (answer.status, answer.getheader("Retry-After")) == (429, "7")
        assert b'"ratelimited"' in answer.read()
    finally:
        connection.close()


def test_many_calls_wait_out_the_latency_at_once(slack):
    """100 parallel calls at 0.3 s latency all finish in about 0.3 s, not 100 x 0.3 s."""
    slack.latency = 0.3
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=10)
    t0 = time.monotonic()
    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda _: client.auth_test()["ok"], range(100)))
    assert all(answers)
    assert time.monotonic() - t0 < 3.0


def test_a_stalled_call_is_carried_out_late(slack):
    """stall(): the call is answered (and recorded) only after its seconds."""
    slack.stall("auth.test", seconds=0.4)
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    t0 = time.monotonic()
    assert client.auth_test()["ok"]
    assert time.monotonic() - t0 >= 0.4
    assert client.auth_test()["ok"]  # only the next call stalls


def test_a_held_answer_leaves_when_released(slack):
    """hold_answers(): the call takes effect and is recorded at once; its answer waits
    for release_answers() while other calls are answered meanwhile."""
    slack.hold_answers("chat.postMessage")
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    result: list[bool] = []
    caller = threading.Thread(target=lambda: result.append(
        client.chat_postMessage(channel="C0GENERAL", text="held")["ok"]))
    caller.start()
    slack.wait_for("chat.postMessage", timeout=5)
    assert client.auth_test()["ok"]  # the held answer blocks nobody else
    time.sleep(0.1)
    assert result == []
    slack.release_answers()
    caller.join(5)
    assert result == [True]


def test_a_lost_answer_takes_effect_and_closes_the_connection(slack):
    """lose_answers(): the call happens and is recorded, and the caller sees a disconnect."""
    slack.lose_answers("chat.postMessage")
    connection = _connection(slack)
    try:
        connection.request("POST", "/api/chat.postMessage", headers=POST_JSON,
                           body=b'{"channel": "C0GENERAL", "text": "lost"}')
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            connection.getresponse()
    finally:
        connection.close()
    [call] = slack.calls_to("chat.postMessage")
    assert call.ok
    assert len(slack.messages("C0GENERAL")) == 1


def test_a_bug_in_the_stand_in_is_a_500(slack, monkeypatch, capsys):
    """An exception while answering is HTTP 500 fatal_error (and its traceback printed),
    not a hung caller."""
    from devtools.slack_stand_in import methods

    def broken(state, params):
        raise RuntimeError("stand-in bug")

    monkeypatch.setitem(methods.METHODS, "auth.test", (broken, None))
    connection = _connection(slack)
    try:
        connection.request("POST", "/api/auth.test", headers=AUTH)
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (500, b'{"ok":false,"error":"fatal_error"}')
    finally:
        connection.close()
    assert "stand-in bug" in capsys.readouterr().err
