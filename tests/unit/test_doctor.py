"""`python -m bot doctor`: one verdict per check, against a real Redis and the Slack
stand-in configured to fail each way; exit status 1 on any FAIL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from port_for import get_port

from bot.cli.doctor import OPTIONAL_SCOPES, REQUIRED_SCOPES, Status, scope_check
from devtools.harness.bot_process import REPO
from devtools.slack_stand_in import SlackStandIn
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS

AUDIT = "C0AUDIT"
READABLE = (*REQUIRED_SCOPES, "channels:read")


def doctor(slack: SlackStandIn | None, redis_url: str, tmp_path: Path, *args: str,
           **overrides: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run the doctor; (exit status, {check: (status, detail + fix)}, whole output)."""
    env = {"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ENCRYPTION_KEYS": TEST_KEYS,
           "REDIS_URL": redis_url, "AUDIT_CHANNEL_ID": AUDIT,
           "SLACK_API_URL": slack.base_url if slack else "http://127.0.0.1:9/api/"}
    env.update(overrides)
    env = {k: v for k, v in env.items() if v}
    done = subprocess.run([sys.executable, "-m", "bot", "doctor", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    verdicts: dict[str, tuple[str, str]] = {}
    last = None
    for line in done.stdout.splitlines():
        found = re.match(r"^(OK|WARN|FAIL)\s+(.+?)\s{2,}(.*)$", line)
        if found:
            last = found.group(2)
            verdicts[last] = (found.group(1), found.group(3))
        elif last and line.strip().startswith("fix:"):
            status, detail = verdicts[last]
            verdicts[last] = (status, detail + " | " + line.strip())
    for secret in (BOT_TOKEN, SIGNING_SECRET, TEST_KEYS.split(":", 1)[1]):
        assert secret not in done.stdout + done.stderr
    return done.returncode, verdicts, done.stdout


def stand_in(scopes=READABLE, **channel) -> SlackStandIn:
    slack = SlackStandIn(bot_token=BOT_TOKEN, team_id="T0ACME", team_domain="acme",
                         scopes=scopes).start()
    slack.add_user("U0ALICE", "alice")
    slack.add_channel(AUDIT, "share-secret-audit", members=["U0ALICE"],
                      **{"bot_is_member": True, **channel})
    return slack


@pytest.fixture
def slack():
    with stand_in() as running:
        yield running


def test_all_checks_pass(slack, redis_url, tmp_path):
    """A good set-up: every check OK, exit 0."""
    code, verdicts, out = doctor(slack, redis_url, tmp_path)
    assert code == 0, out
    assert {name: status for name, (status, _) in verdicts.items()} == {
        "configuration": "OK", "redis": "OK", "public url": "OK", "smtp": "OK",
        "slack token": "OK", "scopes": "OK", "email lookup": "OK", "audit channel": "OK"}
    assert "not configured" in verdicts["smtp"][1]
    assert "not configured" in verdicts["public url"][1]
    assert "Redis " in verdicts["redis"][1]
    assert "T0ACME" in verdicts["slack token"][1]
    assert "#share-secret-audit" in verdicts["audit channel"][1]
    assert "all checks passed" in out


def test_configuration_failure_names_the_variable(slack, redis_url, tmp_path):
    """A missing setting fails the configuration check, naming it, never echoing values."""
    code, verdicts, _ = doctor(slack, redis_url, tmp_path, ENCRYPTION_KEYS="")
    assert code == 1
    status, detail = verdicts["configuration"]
    assert status == "FAIL"
    assert "ENCRYPTION_KEYS" in detail
    assert "fix:" in detail


def test_redis_unreachable_fails(slack, redis_url, tmp_path):
    """Nothing listening at REDIS_URL: the Redis check fails with a fix; Slack is still
    checked."""
    code, verdicts, _ = doctor(slack, redis_url, tmp_path,
                               REDIS_URL=f"redis://127.0.0.1:{get_port(None)}/0")
    assert code == 1
    assert verdicts["redis"][0] == "FAIL"
    assert "REDIS_URL" in verdicts["redis"][1]
    assert verdicts["slack token"][0] == "OK"


def test_refused_token_fails_and_stops_the_slack_checks(slack, redis_url, tmp_path):
    """A token Slack does not know: auth.test's error and where to get the right one."""
    code, verdicts, out = doctor(slack, redis_url, tmp_path,
                                 SLACK_BOT_TOKEN="xoxb-1-2-not-the-right-token")
    assert code == 1
    status, detail = verdicts["slack token"]
    assert (status, "invalid_auth" in detail, "OAuth & Permissions" in detail) == \
        ("FAIL", True, True)
    assert "scopes" not in verdicts
    assert "xoxb-1-2-not-the-right-token" not in out


def test_slack_unreachable_fails(redis_url, tmp_path):
    """Nothing at SLACK_API_URL: the token check fails, pointing at the URL."""
    code, verdicts, _ = doctor(None, redis_url, tmp_path,
                               SLACK_API_URL=f"http://127.0.0.1:{get_port(None)}/api/")
    assert code == 1
    assert verdicts["slack token"][0] == "FAIL"
    assert "SLACK_API_URL" in verdicts["slack token"][1]


def test_missing_scope_fails_and_extra_scope_warns(redis_url, tmp_path):
    """Scopes come from Slack's x-oauth-scopes header: one the manifest asks for missing
    is a FAIL; one more than needed is a WARN (least privilege), and exit 0."""
    with stand_in(scopes=("commands", "chat:write", "im:write", "channels:read")) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path)
    assert code == 1
    assert verdicts["scopes"][0] == "FAIL"
    assert "missing users:read" in verdicts["scopes"][1]
    with stand_in(scopes=(*READABLE, "files:read")) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path)
    assert code == 0
    assert verdicts["scopes"][0] == "WARN"
    assert "files:read" in verdicts["scopes"][1]


def test_audit_history_scopes_are_optional(redis_url, tmp_path):
    """channels:history / groups:history (exactly-once audit across a crash) are not
    extra scopes: no least-privilege warning."""
    with stand_in(scopes=(*READABLE, "channels:history", "groups:history")) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path)
    assert code == 0
    assert verdicts["scopes"][0] == "OK"


def test_email_lookup_is_reported_as_information(redis_url, tmp_path):
    """users:read.email is not in the manifests: without it doctor says what the HTTP API
    then cannot do (OK, exit 0: it is no fault); with it, it is no extra scope either."""
    with stand_in() as slack:
        code, verdicts, out = doctor(slack, redis_url, tmp_path)
    assert code == 0
    status, detail = verdicts["email lookup"]
    assert status == "OK"
    assert ("users:read.email not granted: the HTTP API can address Slack recipients by "
            "email only with users:read.email") in detail
    assert "all checks passed" in out
    with stand_in(scopes=(*READABLE, "users:read.email")) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path)
    assert code == 0
    assert verdicts["scopes"][0] == "OK"  # an optional scope, not a least-privilege WARN
    assert verdicts["email lookup"] == ("OK", "users:read.email granted: the HTTP API can "
                                              "address Slack recipients by email")


@pytest.mark.parametrize(("scopes", "channel", "setting", "expected", "words"), [
    (READABLE, {"bot_is_member": False}, AUDIT, "FAIL", "/invite"),
    ((*READABLE, "chat:write.public"), {"bot_is_member": False}, AUDIT, "OK",
     "chat:write.public"),
    (READABLE, {"is_archived": True}, AUDIT, "FAIL", "archived"),
    (READABLE, {}, "C0NOTHERE", "FAIL", "not found"),
    ((*READABLE, "groups:read"), {"bot_is_member": False, "is_private": True}, AUDIT, "FAIL",
     "not found"),
    (REQUIRED_SCOPES, {}, AUDIT, "WARN", "--post-test"),
    (READABLE, {}, "", "WARN", "AUDIT_CHANNEL_ID is not set"),
], ids=["not-a-member", "public-via-chat-write-public", "archived", "unknown-id",
        "private-without-the-bot", "cannot-read-channels", "not-configured"])
def test_audit_channel_verdicts(redis_url, tmp_path, scopes, channel, setting, expected,
                                words):
    """conversations.info decides: member, or public with chat:write.public, is OK;
    archived, unknown, or not postable is a FAIL; unreadable or unset is a WARN."""
    with stand_in(scopes=scopes, **channel) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path, AUDIT_CHANNEL_ID=setting)
    status, detail = verdicts["audit channel"]
    assert status == expected
    assert words in detail
    assert code == (1 if expected == "FAIL" else 0)


def test_post_test_posts_a_line_or_says_why_not(redis_url, tmp_path):
    """--post-test posts one line to the audit channel when the bot can; when it is not
    in the channel, the post fails with the invite as the fix."""
    with stand_in(scopes=REQUIRED_SCOPES) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path, "--post-test")
        posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert code == 0
    assert verdicts["audit post"][0] == "OK"
    assert [p.params["channel"] for p in posts] == [AUDIT]
    assert "test line" in posts[0].params["text"]
    with stand_in(scopes=REQUIRED_SCOPES, bot_is_member=False) as slack:
        code, verdicts, _ = doctor(slack, redis_url, tmp_path, "--post-test")
    assert code == 1
    assert verdicts["audit post"][0] == "FAIL"
    assert "not_in_channel" in verdicts["audit post"][1]
    assert "/invite" in verdicts["audit post"][1]


def test_oauth_has_no_single_token_to_check(slack, redis_url, tmp_path):
    """With OAuth (several workspaces) there is no one token: configuration and Redis are
    checked, and the token check says why it is skipped, with exit 0."""
    code, verdicts, _ = doctor(slack, redis_url, tmp_path, SLACK_BOT_TOKEN="",
                               AUDIT_CHANNEL_ID="", SLACK_CLIENT_ID="123.456",
                               SLACK_CLIENT_SECRET="oauth-client-secret-value")
    assert code == 0
    assert "OAuth" in verdicts["configuration"][1]
    assert verdicts["redis"][0] == "OK"
    assert verdicts["slack token"][0] == "WARN"
    assert "scopes" not in verdicts


def test_no_scope_header_warns():
    """Slack always reports scopes; if something in between strips the header, say so."""
    assert scope_check(None).status is Status.WARN


def test_required_scopes_are_the_manifests():
    """The doctor checks for exactly the bot scopes manifest.yml asks for."""
    for name in ("manifest.yml", "manifest.socket-mode.yml"):
        manifest = yaml.safe_load((Path(REPO) / name).read_text())
        assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    assert not set(OPTIONAL_SCOPES) & set(REQUIRED_SCOPES)
