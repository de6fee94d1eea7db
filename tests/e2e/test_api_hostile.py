# ruff: noqa: F811 - pytest fixtures imported from another test module, used by name
"""The HTTP API against hostile and odd input, found by a security review: raw-byte
requests that must never be answered 500; recipients outside the workspace; input that
must not be quoted back; values with a trailing newline. Reuses tests/e2e/test_api.py's
bot and fixtures (real HTTP, real Redis, the Slack stand-in)."""

from __future__ import annotations

import json
import re
import socket

import pytest

from bot.api.tokens import check_name
from bot.errors import ValidationFailed
from tests.conftest import BOB
from tests.e2e.test_api import (  # noqa: F401 - fixtures used by name
    SECRET,
    api,
    api_bot,
    link_body,
    stored,
    token_for,
)

pytestmark = pytest.mark.e2e


def _raw(port: int, data: bytes) -> bytes:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        conn.sendall(data)
        out = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
            head, _, rest = out.partition(b"\r\n\r\n")
            length = re.search(rb"content-length: (\d+)", head, re.I)
            if length and len(rest) >= int(length.group(1)):
                break
        return out
    finally:
        conn.close()


def _post(auth: bytes, body: bytes, *, extra: bytes = b"",
          kind: bytes = b"application/json") -> bytes:
    return (b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Type: " + kind
            + b"\r\n" + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)


def test_odd_requests_are_never_a_500(api, api_bot, token_for):
    auth = f"Authorization: Bearer {token_for()}\r\n".encode()
    body = json.dumps(link_body()).encode()
    get = b"GET /api/v1/secrets/%s HTTP/1.1\r\nHost: x\r\n"
    cases = {
        "percent-ff": get % b"%FF%FE" + auth + b"\r\n",
        "percent-00": get % b"ABCD-EFGH-JKM%00" + auth + b"\r\n",
        "raw-non-ascii": get % b"\xff\xfe" + auth + b"\r\n",
        "head": b"HEAD /api/v1/secrets/ABCD-EFGH-JKMN HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        "options": b"OPTIONS /api/v1/secrets HTTP/1.1\r\nHost: x\r\n\r\n",
        "long-path": b"GET /api/v1/" + b"a" * 60000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "latin1-token": get % b"ABCD-EFGH-JKMN" + b"Authorization: Bearer \xe9\r\n\r\n",
        "two-tokens": get % b"ABCD-EFGH-JKMN" + b"Authorization: Bearer x\r\n" + auth + b"\r\n",
        "latin1-key": _post(auth, body, extra=b"Idempotency-Key: \xe9\r\n"),
        "chunked": (b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth
                    + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + f"{len(body):x}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"),
        "no-length": (b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth
                      + b"Content-Type: application/json\r\n\r\n"),
        "negative-length": (b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth
                            + b"Content-Type: application/json\r\nContent-Length: -5\r\n\r\n"),
        "utf-16": _post(auth, body.decode().encode("utf-16")),
        "surrogate-bytes-key": _post(auth, b'{"secret":"x","audience":{"link":true},'
                                           b'"\xed\xa0\x80":1}'),
        "escaped-surrogate-key": _post(auth, b'{"secret":"x","audience":{"link":true,'
                                             b'"\\ud800":1}}'),
        "nan-and-infinity": _post(auth, b'{"secret":"x","audience":{"link":true},'
                                        b'"views":NaN,"expires_in":1e999}'),
        "huge-integer": _post(auth, b'{"secret":"x","audience":{"link":true},"views":'
                                    + b"9" * 4000 + b"}"),
        "duplicate-keys": _post(auth, b'{"secret":"x","secret":"y","audience":{"link":true}}'),
        "problem-json-with-charset": _post(auth, body,
                                           kind=b"application/problem+json ; charset=latin1"),
        "markup-label": _post(auth, json.dumps(link_body(
            label="<!channel> \u202e *x* <http://evil|y>\x00")).encode()),
        "nested-emails": _post(auth, b'{"secret":"x","audience":{"emails":' + b"[" * 900
                                     + b"]" * 900 + b"}}"),
    }
    for name, data in cases.items():
        status_line = _raw(api_bot.port, data).split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 "), (name, status_line)
        assert b" 500 " not in status_line, name


@pytest.mark.parametrize("extra", [{"team_id": "T0EVIL"},
                                   {"team_id": "T0EVIL", "is_stranger": True}],
                         ids=["slack-connect-user", "stranger"])
def test_a_slack_user_of_another_workspace_is_no_recipient(api, token_for, slack, redis_sync,
                                                           extra):
    """Secrets for people outside the workspace go by link or email, under its policy."""
    slack.add_user("U0MALLORY", "mallory", **extra)
    answer = api.create(token_for(), {"secret": SECRET,
                                      "audience": {"slack_users": ["U0MALLORY"]}})
    assert answer.status == 422, answer.body
    assert answer.body["errors"][0]["field"] == "audience.slack_users.0"
    assert "not in this workspace" in answer.body["errors"][0]["detail"]
    assert not stored(redis_sync)
    assert api.create(token_for(), {"secret": SECRET,
                                    "audience": {"slack_users": [BOB]}}).status == 201


def test_a_yaml_secret_is_not_quoted_back_in_its_refusal(api, token_for):
    answer = api.create(token_for(), link_body(secret="password: !hunter2-prod x",
                                               format="yaml"))
    assert answer.status == 422
    assert answer.body["errors"][0]["detail"].startswith("Not valid YAML: line 1, column 11")
    assert "hunter2-prod" not in json.dumps(answer.body)


def test_names_and_receipt_targets_with_a_trailing_newline_are_refused(token_for):
    with pytest.raises(ValidationFailed):
        check_name("deploy-bot\n")
    with pytest.raises(ValidationFailed):
        token_for("newline", receipts_to="C0GENERAL\n")


def test_creates_are_turned_away_while_their_deliveries_lag(api, token_for, slack,
                                                            redis_sync):
    """Each create reserves room for its deliveries (the receipt, Reveal messages) before
    it stores anything: when Slack stops answering, the follow-up lane fills, and further
    creates are told to retry, with nothing stored, rather than pile up work."""
    from bot.background import LANE_CONCURRENCY, Lane
    from tests.conftest import GENERAL

    room = LANE_CONCURRENCY[Lane.FOLLOW_UP]
    tokens = [token_for(receipts_to=GENERAL) for _ in range(room // 30 + 2)]
    slack.hold_answers("chat.postMessage", times=10 * room)
    answers = []
    try:
        for n in range(room + 10):
            answers.append(api.create(tokens[n // 30], link_body()))
            if answers[-1].status != 201:
                break
    finally:
        slack.release_answers()
    refused = answers[-1]
    assert refused.status == 503, [a.status for a in answers]
    assert refused.body["type"] == "/api/v1/problems/unavailable"
    assert int(refused.headers["retry-after"]) >= 1
    assert room - 10 <= len(answers) - 1 <= room
    assert len(stored(redis_sync)) == len(answers) - 1
