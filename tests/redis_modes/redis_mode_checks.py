"""The bot's real flows, run against any Redis set-up (Cluster, Sentinel, TLS): used by
tests/redis_modes/test_redis_cluster.py, test_redis_sentinel.py and test_redis_tls.py
(whose `bot` and `sim` fixtures are in this folder's conftest.py).

Each check drives the real bot (a subprocess over HTTP, or the in-process server with a
clock the test moves) and reads Redis back with a plain client of the set-up.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import redis

from devtools.harness.bot_process import REPO
from devtools.harness.clock import FakeClock
from devtools.harness.inprocess import InProcessBot
from devtools.harness.slack_client import SlackSim
from tests.conftest import (
    ALICE,
    BOB,
    BOT_TOKEN,
    CAROL,
    GENERAL,
    SIGNING_SECRET,
    TEST_KEYS,
    audit_lines,
    inprocess_settings,
    preformatted,
    redis_contents,
    settle,
    sim_for,
    view_text,
)

SECRET = "postgres://admin:Tr0ub4dor&3@db.internal:5432/prod"
CODE = re.compile(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")


def fresh_sim(bot, slack, flush: Callable[[], None]) -> SlackSim:  # type: ignore[no-untyped-def]
    """Redis flushed, the stand-in's records cleared: a SlackSim for one test."""
    settle(slack)
    flush()
    return sim_for(bot, slack)


def share(sim: SlackSim, recipients: list[str], *, secret: str = SECRET,
          expiry: str | None = None) -> str:
    """Alice shares a secret; returns its share code (from her receipt)."""
    def receipt(call) -> bool:  # type: ignore[no-untyped-def]
        return call.params.get("user") == ALICE and bool(CODE.search(call.params.get("text", "")))

    before = sum(1 for c in sim.slack.calls_to("chat.postEphemeral") if receipt(c))
    command = sim.slash_command(ALICE, GENERAL)
    assert command.status == 200
    view = sim.opened_view(command.trigger_id)
    reply = sim.submit(ALICE, view, recipients=recipients, secret=secret, expiry=expiry)
    assert reply.status == 200
    assert reply.body == b"", reply.body
    receipts = sim.slack.wait_for("chat.postEphemeral", where=receipt, count=before + 1)
    match = CODE.search(receipts[-1].params["text"])
    assert match is not None
    return match.group()


def reveal(sim: SlackSim, user: str, prompt: tuple[object, dict] | None = None) -> str:
    """`user` clicks Reveal on the newest prompt (or on `prompt`, a (message, button)
    from `sim.reveal_prompt`); returns what the modal shows."""
    message, button = prompt or sim.reveal_prompt(user)
    click = sim.click(user, message, button)
    assert click.status == 200
    view = sim.shown_view(click.trigger_id)
    shown = preformatted(view)
    return view_text(view) if shown is None else str(shown)


def check_share_and_reveal(sim: SlackSim, client: redis.Redis) -> str:
    """Share, reveal once, second click refused, audit posted; Redis holds no plaintext.
    Returns the share code."""
    code = share(sim, [BOB])
    prompt = sim.reveal_prompt(BOB)
    assert reveal(sim, BOB, prompt) == SECRET
    sim.slack.wait_for("response_url")
    assert "no longer available" in reveal(sim, BOB, prompt)
    lines = audit_lines(sim.slack, 3)
    assert "Secret created" in lines[0]
    assert code in lines[0]
    assert any("Secret opened" in line and code in line for line in lines)
    assert any("Secret burned" in line and code in line for line in lines)
    assert not [v for v in redis_contents(client) if SECRET.encode() in v]
    return code


def check_sweep(url: str, slack, flush: Callable[[], None]) -> None:  # type: ignore[no-untyped-def]
    """The expiry sweep (in-process bot, moved clock) expires each secret once, audited."""
    clock = FakeClock()
    with InProcessBot(inprocess_settings(slack, url), clock=clock) as live:
        sim = fresh_sim(live, slack, flush)
        share(sim, [CAROL], expiry="3600")
        share(sim, [BOB], expiry="3600")
        clock.advance(3601)
        assert live.call(live.runtime.sweeper.run_once()) == 2
        assert live.call(live.runtime.sweeper.run_once()) == 0
        expired = [line for line in audit_lines(slack, 4) if "Secret expired" in line]
        assert len(expired) == 2
        settle(slack)


def run_tool(args: list[str], url: str, cwd: Path,
             **extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` (audit export, admin stats) against REDIS_URL=url."""
    env = {"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ENCRYPTION_KEYS": TEST_KEYS,
           "REDIS_URL": url, **extra}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=60, check=False)


def check_tools(sim: SlackSim, url: str, cwd: Path, *, count: int) -> list[str]:
    """After `count` shares, `admin stats` counts them all and `audit export` lists every
    creation. Returns the share codes."""
    codes = [share(sim, [BOB]) for _ in range(count)]
    stats = run_tool(["admin", "stats"], url, cwd)
    assert stats.returncode == 0, stats.stderr
    assert re.search(rf"active\s+{count}\b", stats.stdout), stats.stdout
    exported = run_tool(["audit", "export", "--event", "secret_created"], url, cwd)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert sorted(r["code"] for r in rows) == sorted(codes)
    return codes


def check_doctor(url: str, cwd: Path, **env: str) -> None:
    """`python -m bot doctor` finds Redis reachable at `url` (Slack is not checked here)."""
    from tests.unit.test_doctor import doctor

    _, verdicts, out = doctor(None, url, cwd, **env)
    assert verdicts["redis"][0] == "OK", out
