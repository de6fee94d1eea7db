"""`python -m bot api-tokens create|list|revoke` as an operator runs it: a real process, a
real Redis, the Slack stand-in answering auth.test (which workspace the bot token is)."""

from __future__ import annotations

import subprocess
import sys

from devtools.harness.bot_process import REPO
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS, with_api_tokens


def run(args, redis_url, tmp_path, **env):
    values = {"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
              "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ENCRYPTION_KEYS": TEST_KEYS,
              "REDIS_URL": redis_url, **env}
    values = {k: v for k, v in values.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "bot", "api-tokens", *args],
                          capture_output=True, text=True, env=values, cwd=tmp_path,
                          timeout=60, check=False)


def verify(redis_url, text):
    return with_api_tokens(redis_url, lambda tokens: tokens.verify(text))


def audit_entries(redis_sync):
    return [{k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in redis_sync.xrange("ss:{audit}:events")]


def test_create_list_revoke(slack, redis_url, redis_sync, tmp_path):
    """create prints the token alone on its last line, for the bot token's workspace;
    list names it without the token; revoke ends it; both are audited."""
    api = {"SLACK_API_URL": slack.base_url}
    made = run(["create", "--name", "deploy-bot", "--receipts-to", "C0DEPLOYS"], redis_url,
               tmp_path, **api)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    text = lines[-1]
    assert text.startswith("shsec_")
    assert len(text) == 55
    assert text not in "\n".join(lines[:-1])
    assert text not in made.stderr
    token = verify(redis_url, text)
    assert token is not None
    assert (token.team_id, token.name, token.receipts_to) == ("T0ACME", "deploy-bot",
                                                              "C0DEPLOYS")
    assert token.token_id in made.stdout
    assert "T0ACME" in made.stdout

    listed = run(["list"], redis_url, tmp_path, **api)
    assert listed.returncode == 0, listed.stderr
    assert "deploy-bot" in listed.stdout
    assert token.token_id in listed.stdout
    assert "the command line" in listed.stdout
    assert text not in listed.stdout

    taken = run(["create", "--name", "deploy-bot"], redis_url, tmp_path, **api)
    assert taken.returncode == 2
    assert "already named deploy-bot" in taken.stderr
    assert taken.stdout == ""

    revoked = run(["revoke", token.token_id, "--team", "T0ACME"], redis_url, tmp_path, **api)
    assert revoked.returncode == 0, revoked.stderr
    assert "Revoked API token deploy-bot" in revoked.stdout
    assert verify(redis_url, text) is None
    again = run(["revoke", "deploy-bot"], redis_url, tmp_path, **api)
    assert again.returncode == 1
    assert "no live API token" in again.stderr

    entries = audit_entries(redis_sync)
    assert [(e["event"], e["actor"], e["team"]) for e in entries] == [
        ("api_token_created", "command-line", "T0ACME"),
        ("api_token_revoked", "command-line", "T0ACME")]
    assert "deploy-bot" in entries[0]["detail"]
    assert token.token_id in entries[0]["detail"]
    assert all(text not in str(e) for e in entries)


def test_the_workspace_must_be_known(slack, redis_url, redis_sync, tmp_path):
    """--team that is not the bot token's workspace, a name that is not one, Slack out of
    reach without --team, and OAuth without --team: each a clear error, exit 2, nothing
    created."""
    api = {"SLACK_API_URL": slack.base_url}
    wrong = run(["create", "--name", "x", "--team", "T0OTHER"], redis_url, tmp_path, **api)
    assert wrong.returncode == 2
    assert "belongs to workspace T0ACME, not T0OTHER" in wrong.stderr
    bad = run(["list", "--team", "acme"], redis_url, tmp_path, **api)
    assert bad.returncode == 2
    assert "--team must be a workspace id" in bad.stderr
    away = run(["create", "--name", "x"], redis_url, tmp_path,
               SLACK_API_URL="http://127.0.0.1:1/api/")
    assert away.returncode == 2
    assert "could not ask Slack" in away.stderr
    assert "--team" in away.stderr
    oauth = {"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "1.2",
             "SLACK_CLIENT_SECRET": "client-secret-for-tests"}
    several = run(["create", "--name", "x"], redis_url, tmp_path, **oauth)
    assert several.returncode == 2
    assert "several workspaces" in several.stderr
    absent = run(["create", "--name", "x", "--team", "T0ACME"], redis_url, tmp_path, **oauth)
    assert absent.returncode == 2
    assert "has not installed" in absent.stderr
    badname = run(["create", "--name", "Not A Name"], redis_url, tmp_path, **api)
    assert badname.returncode == 2
    assert "1 to 40 characters" in badname.stderr
    assert redis_sync.keys("ss:api-tokens:*") == []


def test_slack_out_of_reach_with_team_given(redis_url, redis_sync, tmp_path):
    """With one bot token and Slack out of reach, --team is taken at its word."""
    made = run(["create", "--name", "offline", "--team", "T0ACME"], redis_url, tmp_path,
               SLACK_API_URL="http://127.0.0.1:1/api/")
    assert made.returncode == 0, made.stderr
    assert verify(redis_url, made.stdout.splitlines()[-1]).team_id == "T0ACME"
