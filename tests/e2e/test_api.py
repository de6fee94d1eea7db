"""The HTTP API end to end: the real bot process over HTTP, a real Redis, the Slack
stand-in and a real SMTP server. Every answer is checked against the OpenAPI document
the bot serves (devtools.harness.api_client), so each test here is also a check of it.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from openapi_spec_validator import validate as validate_spec

from bot.api.bearer import new_bearer
from bot.api.problems import PROBLEMS
from bot.storage import KeySpace
from devtools.harness.api_client import ApiClient
from devtools.harness.bot_process import BotProcess
from devtools.slack_stand_in import DEFAULT_SCOPES
from tests.conftest import (
    ALICE,
    BOB,
    DEPLOYBOT,
    GENERAL,
    audit_lines,
    bot_env,
    populate,
    redis_contents,
    settle,
    with_api_tokens,
)

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://secrets.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/s/([A-Za-z0-9_-]{28})#([A-Za-z0-9_-]{43})")
SECRET = "db-password: hunter2-0f8e3c"
PER_MINUTE = 40


@pytest.fixture(scope="module")
def api_bot(slack, redis_url, smtp_server, tmp_path_factory):
    env = bot_env(slack, redis_url, PUBLIC_URL=PUBLIC_URL, SMTP_URL=smtp_server.url,
                  MAIL_FROM="share-secret@example.test", ADMIN_USER_IDS=ALICE,
                  API_LIMIT=f"{PER_MINUTE}/60")
    with BotProcess(env, workdir=tmp_path_factory.mktemp("api-bot")) as process:
        yield process


@pytest.fixture
def api(api_bot, slack, smtp):
    slack.reset()
    populate(slack)
    yield ApiClient(api_bot.port)
    settle(slack)


@pytest.fixture
def token_for(redis_url):
    """make(name, team=..., receipts_to=...) -> the bearer text of a new token."""
    made: list[str] = []

    def make(name: str | None = None, *, team: str = "T0ACME",
             receipts_to: str | None = None) -> str:
        _, bearer = with_api_tokens(redis_url, lambda tokens: tokens.create(
            team_id=team, name=name or f"script-{len(made)}-{time.monotonic_ns()}",
            created_by=ALICE, receipts_to=receipts_to))
        made.append(bearer)
        return bearer

    return make


def reveal(bot, url: str) -> tuple[int, dict]:
    """Open a link as the page's script does: POST its key from PUBLIC_URL's origin."""
    secret_id, key = LINK.fullmatch(url).groups()
    status, body = bot.request("POST", f"/s/{secret_id}/reveal",
                               json.dumps({"key": key}).encode(),
                               {"Content-Type": "application/json", "Origin": PUBLIC_URL})
    return status, json.loads(body)


def stored(client) -> list[bytes]:
    """The secrets stored (their metadata hashes)."""
    return list(client.scan_iter(KeySpace().every_meta()))


def wait_for_health(bot, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            bot.get("/healthz")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def link_body(**extra) -> dict:
    return {"secret": SECRET, "audience": {"link": True}, **extra}


# -- the document -------------------------------------------------------------------------

def test_the_openapi_document_is_valid_openapi_3_1(api):
    assert api.document["openapi"] == "3.1.0"
    validate_spec(api.document)
    answer = api.call("GET", "/api/v1/problems/rate-limited")
    assert answer.status == 200
    assert answer.body["status"] == 429


def test_every_problem_type_is_documented_and_tested_here():
    from pathlib import Path

    text = Path(__file__).read_text()
    tests = text[text.index("def test_no_token_or_a_wrong_one"):]
    untested = [kind for kind in PROBLEMS
                if f"problems/{kind}" not in tests and f'"{kind}"' not in tests]
    assert not untested, f"problem types without a test here: {untested}"


# -- create, status, revoke ---------------------------------------------------------------

def test_a_link_secret_is_created_revealed_once_and_its_status_follows(api, api_bot, token_for,
                                                                       redis_sync):
    token = token_for("deploy-bot")
    created = api.create(token, link_body(label="staging db", expires_in="2h"))
    assert created.status == 201, created.body
    code, url = created.body["code"], created.body["url"]
    assert created.headers["location"] == f"/api/v1/secrets/{code}"
    assert created.body["views"] == {"allowed": 1, "used": 0}
    assert LINK.fullmatch(url)
    before = api.status(token, code)
    assert before.body["status"] == "active"
    assert before.body["label"] == "staging db"
    assert before.body["created_by"] == {"api_token": "deploy-bot"}
    assert before.body["recipients"] == ["link"]
    assert before.body["viewed"] == []
    status, shown = reveal(api_bot, url)
    assert (status, shown["outcome"], shown["text"]) == (200, "revealed", SECRET)
    after = api.status(token, code)
    assert after.body["status"] == "burned"
    assert [v["by"] for v in after.body["viewed"]] == ["link"]
    assert after.body["views"] == {"allowed": 1, "used": 1}
    # Nothing the client sent or got that opens the secret is in Redis.
    dump = redis_contents(redis_sync)
    for needle in (SECRET, token, url.split("#")[1]):
        assert needle not in dump


def test_create_audits_as_the_token_and_sends_the_receipt_to_its_channel(api, api_bot,
                                                                           token_for, slack):
    token = token_for("onboarding", receipts_to=GENERAL)
    created = api.create(token, link_body())
    assert created.status == 201
    lines = audit_lines(slack, 1)
    assert any("Secret created" in line and "API token *onboarding*" in line
               for line in lines), lines
    assert reveal(api_bot, created.body["url"])[0] == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        posted = [c for c in slack.calls_to("chat.postMessage")
                  if c.params.get("channel") == GENERAL]
        if len(posted) >= 2:  # the confirmation, then the opened receipt
            break
        time.sleep(0.05)
    texts = " ".join(json.dumps(c.params) for c in posted)
    assert created.body["code"] in texts
    assert "opened" in texts.lower()
    assert SECRET not in texts
    assert created.body["url"].split("#")[1] not in texts


def test_slack_users_by_id_get_a_reveal_button(api, token_for, slack):
    token = token_for()
    created = api.create(token, {"secret": SECRET, "audience": {"slack_users": [BOB]}})
    assert created.status == 201, created.body
    assert "url" not in created.body
    assert created.body["audience"] == "workspace"
    prompts = slack.wait_for("chat.postMessage", count=1)
    assert any(created.body["code"] in json.dumps(c.params) for c in prompts)


def test_a_bot_or_unknown_slack_user_is_refused_naming_the_field(api, token_for,
                                                                 redis_sync):
    token = token_for()
    answer = api.create(token, {"secret": SECRET, "audience": {"slack_users": [DEPLOYBOT]}})
    assert answer.status == 422
    assert answer.body["type"] == "/api/v1/problems/invalid-request"
    assert answer.body["errors"] == [{"field": "audience.slack_users.0",
                                      "detail": "deploybot (a bot)"}]
    assert not stored(redis_sync)


def test_slack_users_named_by_email_are_looked_up(api, token_for, slack, redis_sync):
    token = token_for()
    bob = {"secret": SECRET, "audience": {"slack_users": ["bob@acme.example.com", BOB]}}
    without = api.create(token, bob)  # the default install has no users:read.email
    assert without.status == 422
    assert without.body["errors"][0]["field"] == "audience.slack_users"
    assert "users:read.email" in without.body["errors"][0]["detail"]
    slack.set_scopes((*DEFAULT_SCOPES, "users:read.email"))
    try:
        nobody = api.create(token, {"secret": SECRET, "audience": {
            "slack_users": ["bob@acme.example.com", "nobody@acme.example.com"]}})
        assert nobody.status == 422
        assert [e["field"] for e in nobody.body["errors"]] == ["audience.slack_users.1"]
        assert not stored(redis_sync)
        created = api.create(token, bob)
        assert created.status == 201, created.body
        code = created.body["code"]
        assert api.status(token, code).body["recipients"] == [BOB]  # once, by either name
        prompt = next(c for c in slack.wait_for("chat.postMessage", count=1)
                      if code in json.dumps(c.params))
        assert prompt.params["channel"] == slack.dm_of(BOB)
        assert slack.calls_to("users.lookupByEmail")
    finally:
        slack.set_scopes(DEFAULT_SCOPES)


def test_email_recipients_get_the_link_by_mail_and_are_masked(api, token_for, smtp):
    token = token_for()
    created = api.create(token, {"secret": SECRET, "audience": {
        "emails": ["vendor@example.com"], "mail": True}})
    assert created.status == 201, created.body
    status = api.status(token, created.body["code"])
    assert status.body["recipients"] == ["mailto:v*****@example.com"]
    mail = smtp.wait_for("vendor@example.com")
    assert created.body["url"] in mail.text()
    assert SECRET not in mail.text()


def test_revoke_ends_it_and_a_second_revoke_conflicts(api, api_bot, token_for, slack):
    token = token_for("rotator")
    created = api.create(token, link_body())
    code = created.body["code"]
    revoked = api.revoke(token, code)
    assert revoked.status == 200
    assert revoked.body["status"] == "revoked"
    assert revoked.body["ended_by"] == {"api_token": "rotator"}
    assert reveal(api_bot, created.body["url"])[1]["outcome"] == "gone"
    again = api.revoke(token, code)
    assert again.status == 409
    assert again.body["type"] == "/api/v1/problems/not-active"
    assert any("revoked" in line and "API token *rotator*" in line
               for line in audit_lines(slack, 2))


# -- tests of every refusal -----------------------------------------------------------------

def test_no_token_or_a_wrong_one_is_unauthorized(api, token_for):
    for token in (None, "shsec_not-a-real-token", "Basic abc"):
        answer = api.call("POST", "/api/v1/secrets", body=link_body(),
                          headers={"Authorization": token} if token == "Basic abc" else None,
                          token=None if token == "Basic abc" else token)
        assert answer.status == 401, token
        assert answer.body["type"] == "/api/v1/problems/unauthorized"
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_at_once(api, token_for, redis_url):
    token = token_for("short-lived")
    assert api.create(token, link_body()).status == 201

    assert with_api_tokens(redis_url, lambda tokens: tokens.revoke(
        team_id="T0ACME", name_or_id="short-lived"))
    assert api.create(token, link_body()).status == 401


def test_another_workspaces_secret_is_forbidden(api, token_for):
    ours = token_for()
    theirs = token_for(team="T0OTHER")
    code = api.create(ours, link_body()).body["code"]
    for answer in (api.status(theirs, code), api.revoke(theirs, code)):
        assert answer.status == 403
        assert answer.body["type"] == "/api/v1/problems/forbidden"
    assert api.status(ours, code).body["status"] == "active"


def test_unknown_codes_paths_and_methods(api, token_for):
    token = token_for()
    assert api.status(token, "ABCD-EFGH-JKMN").body["type"] == "/api/v1/problems/not-found"
    assert api.status(token, "not-a-code").status == 404
    assert api.call("GET", "/api/v1/nothing", token=token).status == 404
    wrong = api.call("PUT", "/api/v1/secrets", token=token, body=link_body())
    assert wrong.status == 405
    assert wrong.headers["allow"] == "POST"
    assert wrong.body["type"] == "/api/v1/problems/method-not-allowed"


def test_bodies_that_are_not_json_objects_are_refused(api, token_for, redis_sync):
    token = token_for()
    cases = [(b"{not json", "application/json", "invalid-json", 400),
             (b"[1, 2]", "application/json", "invalid-json", 400),
             (b"[" * 100000, "application/json", "too-large", 413),
             (b"secret=x", "application/x-www-form-urlencoded", "unsupported-media-type", 415),
             (b"[" * 5000 + b"]" * 5000, "application/json", "invalid-json", 400),
             (b'{"views": 1' + b"0" * 5000 + b"}", "application/json", "invalid-json", 400),
             (b'{"secret": "a", "secret": "b", "audience": {"link": true}}',
              "application/json", "invalid-json", 400)]
    for raw, kind, problem, status in cases:
        answer = api.call("POST", "/api/v1/secrets", token=token, raw=raw,
                          headers={"Content-Type": kind})
        assert (answer.status, answer.body["type"]) == (status, f"/api/v1/problems/{problem}")
    assert not stored(redis_sync)


def test_invalid_fields_are_named_and_nothing_is_stored(api, token_for, redis_sync):
    token = token_for()
    answer = api.create(token, {"secret": "", "audience": {"link": True, "emails": ["a@b.c"]},
                                "expires_in": "forever", "views": 0, "passphrase": "short",
                                "colour": "red"})
    assert answer.status == 422
    assert answer.body["type"] == "/api/v1/problems/invalid-request"
    assert {e["field"] for e in answer.body["errors"]} == {
        "secret", "audience", "expires_in", "views", "colour"}
    weak = api.create(token, link_body(passphrase="short"))
    assert (weak.status, [e["field"] for e in weak.body["errors"]]) == (422, ["passphrase"])
    not_json = api.create(token, link_body(format="json"))
    assert (not_json.status, [e["field"] for e in not_json.body["errors"]]) == (422, ["secret"])
    for error in answer.body["errors"] + weak.body["errors"] + not_json.body["errors"]:
        assert SECRET not in error["detail"]
        assert "short" not in error["detail"]


def test_an_idempotent_retry_gets_the_first_answer(api, token_for, redis_sync):
    token = token_for()
    key = {"Idempotency-Key": "onboard-jane-2026-12-07"}
    first = api.create(token, link_body(), headers=key)
    again = api.create(token, link_body(), headers=key)
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"
    assert first.body["url"].split("#")[1] not in redis_contents(redis_sync)
    other = api.create(token, link_body(label="another"), headers=key)
    assert other.status == 422
    assert other.body["type"] == "/api/v1/problems/idempotency-key-reused"
    # Another token's same key is its own.
    assert api.create(token_for(), link_body(), headers=key).body["code"] != \
        first.body["code"]


def test_a_refused_request_leaves_its_idempotency_key_free(api, token_for):
    token = token_for()
    key = {"Idempotency-Key": "fix-and-retry"}
    assert api.create(token, {"secret": SECRET}, headers=key).status == 422
    assert api.create(token, link_body(), headers=key).status == 201
    bad = api.create(token, link_body(), headers={"Idempotency-Key": "x" * 300})
    assert bad.status == 400
    assert bad.body["type"] == "/api/v1/problems/invalid-header"


def test_concurrent_retries_make_one_secret(api, token_for):
    token = token_for()
    key = {"Idempotency-Key": "many-at-once"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.create(token, link_body(), headers=key),
                                range(8)))
    created = {a.body["code"] for a in answers if a.status == 201}
    assert len(created) == 1
    waits = [a for a in answers if a.status == 409]
    assert all(a.body["type"] == "/api/v1/problems/idempotency-in-progress"
               and int(a.headers["retry-after"]) >= 1 for a in waits)


def test_a_token_past_its_rate_is_told_when_to_retry(api, token_for):
    token = token_for()
    statuses = [api.status(token, "ABCD-EFGH-JKMN").status for _ in range(PER_MINUTE)]
    assert set(statuses) == {404}
    limited = api.status(token, "ABCD-EFGH-JKMN")
    assert limited.status == 429
    assert limited.body["type"] == "/api/v1/problems/rate-limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert api.status(token_for(), "ABCD-EFGH-JKMN").status == 404  # per token


def test_a_secret_past_the_quota_is_refused(slack, redis_url, tmp_path, token_for):
    env = bot_env(slack, redis_url, PUBLIC_URL=PUBLIC_URL, QUOTA_SENDER_SECRETS="1")
    with BotProcess(env, workdir=tmp_path) as bot:
        api = ApiClient(bot.port)
        token = token_for()
        assert api.create(token, link_body()).status == 201
        answer = api.create(token, link_body())
        assert answer.status == 403
        assert answer.body["type"] == "/api/v1/problems/quota-exceeded"


def test_redis_down_is_unavailable_not_an_error(slack, tmp_path):
    env = bot_env(slack, "redis://127.0.0.1:1/0", PUBLIC_URL=PUBLIC_URL)
    with BotProcess(env, workdir=tmp_path, ready=lambda: True) as bot:
        wait_for_health(bot)
        api = ApiClient(bot.port)
        # A mistyped token is refused by its checksum, without Redis.
        assert api.create("shsec_" + "a" * 49, link_body()).status == 401
        # A well-formed one must be looked up: Redis is needed for that.
        down = api.create(new_bearer(), link_body())
        assert down.status == 503
        assert down.body["type"] == "/api/v1/problems/unavailable"
        assert int(down.headers["retry-after"]) >= 1


def test_slack_unavailable_is_told_as_such(api, token_for, slack):
    token = token_for()
    slack.add_user("U0NEWHIRE", "newhire")  # nobody the bot has asked Slack about yet
    slack.fail("users.info", error="fatal_error", times=None)
    answer = api.create(token, {"secret": SECRET, "audience": {"slack_users": ["U0NEWHIRE"]}})
    assert answer.status == 503
    assert answer.body["type"] == "/api/v1/problems/slack-unavailable"
