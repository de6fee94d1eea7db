"""The demo's third story: a script shares a secret through the HTTP API.

An admin makes a token at the command line (`python -m bot api-tokens create`, the token
alone on its last line), naming alice as where receipts go. A deploy script creates a
link secret with it, checks its status, the link is opened (as the page's script opens
it), and the status now says burned and by whom. Every answer is held to the OpenAPI
document the bot serves (devtools.harness.api_client).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

from devtools.harness.api_client import ApiClient
from devtools.harness.bot_process import BotProcess
from devtools.slack_stand_in import SlackStandIn
from scripts.demo_view import readable, say

API_SECRET = "DEPLOY_KEY=ghp_demoTokenForTheDeployJob0123456789abcd"


def play(bot: BotProcess, slack: SlackStandIn, env: Mapping[str, str],
         public_url: str) -> str:
    """The story; returns the bearer token, for the checks."""
    made = subprocess.run([sys.executable, "-m", "bot", "api-tokens", "create", "--name",
                           "deploy-bot", "--receipts-to", "U0ALICE"], env=dict(env),
                          capture_output=True, text=True, check=True)
    token = made.stdout.strip().splitlines()[-1]
    say("an admin", "runs `python -m bot api-tokens create --name deploy-bot "
        "--receipts-to U0ALICE`:", [line for line in made.stdout.splitlines()[:-1]]
        + [token[:10] + "…  (the token, alone on the last line: shown once)"])

    api = ApiClient(bot.port)
    body = {"secret": API_SECRET, "label": "deploy key", "audience": {"link": True},
            "expires_in": "1h"}
    created = api.create(token, body, headers={"Idempotency-Key": "deploy-42"})
    url = created.body["url"]
    say("the deploy script", "POSTs /api/v1/secrets and gets 201:",
        _shown(created.body, url))
    again = api.create(token, body, headers={"Idempotency-Key": "deploy-42"})
    say("the deploy script", "retries with the same Idempotency-Key, and gets the same "
        "answer:", f"{again.status}, code {again.body['code']}, Idempotent-Replayed: "
        f"{again.headers.get('idempotent-replayed')}")

    secret_id, key = url.split("/s/", 1)[1].split("#", 1)
    status, answer = bot.request("POST", f"/s/{secret_id}/reveal",
                                 json.dumps({"key": key}).encode(),
                                 {"Content-Type": "application/json", "Origin": public_url})
    say("the new hire", "opens the link and sees:", json.loads(answer).get("text", status))

    checked = api.status(token, created.body["code"])
    say("the deploy script", f"GETs /api/v1/secrets/{created.body['code']}:",
        [f"status {checked.body['status']}, viewed by "
         + ", ".join(f"{v['by']} at {v['at']}" for v in checked.body["viewed"])])
    receipts = slack.wait_for("chat.postMessage", count=2, where=lambda c: (
        c.params.get("channel") == slack.dm_of("U0ALICE")
        and "deploy-bot" in str(c.params.get("text"))))
    say("alice", "gets the token's receipts:", [readable(c.params["text"]) for c in receipts])
    return token


def _shown(body: Mapping[str, object], url: str) -> list[str]:
    shown = {**body, "url": url.split("#")[0] + "#…"}
    return [json.dumps(shown, ensure_ascii=False)]
