"""Operator commands: `python -m bot audit export` and `python -m bot admin stats`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from bot.domain import AuditAction, AuditEvent
from bot.storage import connect
from bot.storage.audit_stream import AuditStream
from devtools.harness.bot_process import REPO
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS


def run(args, redis_url, tmp_path):
    env = {"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ENCRYPTION_KEYS": TEST_KEYS,
           "REDIS_URL": redis_url}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60, check=False)


def fill(redis_url, events):
    async def go():
        client = connect(redis_url)
        stream = AuditStream(client, prefix="ss", retention_seconds=3650 * 86400)
        for e in events:
            await stream.append(e)
        found = await stream.between(count=100_000)
        await client.aclose()
        return found
    return asyncio.run(go())


def test_export_writes_json_lines_matching_the_stream(redis_url, redis_sync, tmp_path):
    """Every event comes out as one JSON object per line, equal to what the stream holds."""
    now = time.time()
    stored = fill(redis_url, [
        AuditEvent(AuditAction.SECRET_CREATED, at=now - 86400 * 3, actor="U1", team_id="T1",
                   code="AAAA-BBBB-CCCC", secret_id="x" * 22, recipients=("U2", "U3")),
        AuditEvent(AuditAction.SECRET_OPENED, at=now - 86400, actor="U2", team_id="T1",
                   code="AAAA-BBBB-CCCC"),
        AuditEvent(AuditAction.ACCESS_DENIED, at=now, actor="U9", team_id="T1",
                   code="AAAA-BBBB-CCCC", detail="not a recipient"),
    ])
    done = run(["audit", "export"], redis_url, tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == [e.event_id for e in stored]
    assert rows[0]["recipients"] == ["U2", "U3"]
    assert rows[2]["detail"] == "not a recipient"
    assert {r["event"] for r in rows} == {"secret_created", "secret_opened", "access_denied"}


def test_export_filters(redis_url, redis_sync, tmp_path):
    """--since/--until, --event and --actor narrow the export."""
    now = time.time()
    fill(redis_url, [AuditEvent(AuditAction.SECRET_OPENED, at=now - 86400 * d, actor=f"U{d}",
                                team_id="T1", code="AAAA-BBBB-CCCC") for d in (5, 3, 1)])
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 86400 * 4))
    assert len(run(["audit", "export", "--since", since], redis_url,
                   tmp_path).stdout.splitlines()) == 2
    assert len(run(["audit", "export", "--actor", "U3"], redis_url,
                   tmp_path).stdout.splitlines()) == 1
    assert run(["audit", "export", "--event", "secret_created"], redis_url,
               tmp_path).stdout == ""
    bad = run(["audit", "export", "--since", "last tuesday"], redis_url, tmp_path)
    assert bad.returncode == 2
    assert "--since must be an ISO date" in bad.stderr


def test_big_export_reports_progress_on_stderr(redis_url, redis_sync, tmp_path):
    """A large export prints progress lines on stderr, never on stdout."""
    now = time.time()
    pipe = redis_sync.pipeline(transaction=False)
    for n in range(10_500):
        pipe.xadd("ss:{audit}:events", {"event": "secret_opened", "at": f"{now:.3f}",
                                        "actor": "U1", "team": "T1", "detail": f"n{n}"})
    pipe.execute()
    done = run(["audit", "export"], redis_url, tmp_path)
    assert len(done.stdout.splitlines()) == 10_500
    assert "exported 10000 events" in done.stderr


def test_admin_stats_counts_by_status(redis_url, redis_sync, tmp_path):
    """`admin stats` counts secrets by status and names the oldest active one."""
    for n, (status, created) in enumerate([("active", 200), ("active", 100), ("burned", 50),
                                           ("revoked", 60), ("expired", 70)]):
        code = f"ABC{n}" + "DEFGHJKM"
        redis_sync.hset(f"ss:{{{code}}}:m", mapping={"st": status, "at": created,
                                                     "id": code + "x" * 16})
    done = run(["admin", "stats"], redis_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "active   2" in done.stdout
    assert "burned   1" in done.stdout
    assert "Oldest active secret: ABC1-DEFG-HJKM" in done.stdout


def test_unreachable_redis_is_one_clear_line(tmp_path):
    """With Redis down, the tools say so in one line and exit 1."""
    done = run(["admin", "stats"], "redis://127.0.0.1:1/0", tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "share-secret: Redis is unreachable (check REDIS_URL)"
