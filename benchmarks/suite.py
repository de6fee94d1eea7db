"""The whole benchmark: start everything, run every scenario, collect one result dict."""

# ruff: noqa: S603, S607 - a benchmark that starts its own local processes

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks import payloads, storage
from benchmarks.http_runs import Timing, run
from benchmarks.procs import (
    PYTHON,
    REPO,
    RedisServer,
    StandIn,
    child_env,
    free_port,
    redis_server,
    start_server,
)
from benchmarks.report import LEVELS, OPEN_RATES, best_peer, targets
from benchmarks.standin_proc import AUDIT, BOT_TOKEN, GENERAL, TEAM_ID
from benchmarks.stats import outcome_counts
from bot import render
from bot.crypto import generate_key_entry

RECIPIENTS = [f"U0R{i:07d}" for i in range(1, 201)]
SENDER_PREFIX = "U0S"
OVERLOAD_LATENCY = 1.0
# The titles of the modal that shows a secret and of the share form (bot/render).
REVEALED_TITLE = "Your secret"
FORM_TITLE = "Share a secret"


def machine_facts() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                   text=True, check=False).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "redis": redis_version.split(" sha=")[0], "loadavg_at_start": os.getloadavg()}


class Suite:
    def __init__(self, *, quick: bool, only: set[str] | None, log=print,
                 profile_dir: Path | None = None, checkpoint_path: Path | None = None,
                 sweep_stored: int | None = None) -> None:
        self.quick = quick
        self.checkpoint_path = checkpoint_path
        self.sweep_stored = sweep_stored
        self.profile_dir = profile_dir
        self.only = only
        self.log = log
        self.timing = Timing(warmup=0.3, duration=1.5) if quick else Timing(1.0, 5.0)
        self.signing_secret = secrets.token_hex(16)
        self.keys = generate_key_entry("bench")
        # People the stand-in knows who send secrets: the share runs' senders (the load
        # generator numbers them) and the senders of the secrets seeded for reveals.
        self.senders = [f"{SENDER_PREFIX}{n:07d}" for n in
                        range(8_000 if quick else 40_000)]
        self.results: dict[str, Any] = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": quick, "machine": machine_facts(),
            "timing": {"warmup": self.timing.warmup, "duration": self.timing.duration},
            "levels": list(LEVELS),
        }

    def checkpoint(self) -> None:
        """Save what has been measured so far (a long run that is stopped keeps it)."""
        if self.checkpoint_path is not None:
            self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            self.checkpoint_path.write_text(json.dumps(self.results, indent=1, default=str))

    def wanted(self, name: str) -> bool:
        return self.only is None or name in self.only

    # -- the whole run ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="share-secret-bench-") as tmp, \
                redis_server() as redis:
            workdir = Path(tmp)
            slack = StandIn(workdir)
            try:
                self._populate(slack)
                if self.wanted("startup"):
                    self.results["startup"] = self.startup(slack, redis, workdir)
                    self.checkpoint()
                if self.wanted("floor"):
                    self.results["floor"] = self.floor(slack, redis, workdir)
                    self.checkpoint()
                if self.wanted("least"):
                    self.results["least"] = self.least(slack, redis, workdir)
                    self.checkpoint()
                if self.wanted("bot"):
                    self.bot(slack, redis, workdir)
                    self.checkpoint()
                if self.wanted("snappass"):
                    self.results["snappass"] = self.snappass(slack, redis, workdir)
                    self.checkpoint()
                if self.wanted("web"):
                    self.results["web"] = self.web(slack, redis, workdir)
                    self.checkpoint()
                    self.results["least_web"] = self.least_web(slack, redis, workdir)
                    self.checkpoint()
            finally:
                slack.stop()
            if self.wanted("storage"):
                self.log("storage floor ...")
                self.results["storage_floor"] = asyncio.run(storage.storage_floor(
                    redis.url.replace("/0", "/3"), levels=LEVELS,
                    seconds=0.3 if self.quick else 1.0))
                self.checkpoint()
        if self.wanted("memory") or self.wanted("sweep"):
            with redis_server() as fresh:
                if self.wanted("memory"):
                    count = 10_000 if self.quick else 100_000
                    self.log(f"memory: {count:,} secrets ...")
                    self.results["memory"] = asyncio.run(storage.memory_per_secret(
                        fresh.url, self.keys, count=count))
                    self.checkpoint()
                if self.wanted("sweep"):
                    stored, small, large = ((50_000, 100, 1_000) if self.quick
                                            else (1_000_000, 1_000, 10_000))
                    stored = self.sweep_stored or stored
                    self.log(f"sweep: {small:,} / {large:,} expired among {stored:,} ...")
                    self.results["sweep"] = asyncio.run(storage.sweep_cost(
                        fresh.url, self.keys, stored=stored, small=small, large=large))
        self.results["targets"] = targets(self.results)
        return self.results

    def _populate(self, slack: StandIn) -> None:
        slack.control("users", {"ids": RECIPIENTS, "channel": GENERAL})
        for start in range(0, len(self.senders), 5_000):
            slack.control("users", {"ids": self.senders[start:start + 5_000],
                                    "channel": GENERAL})

    # -- the servers ----------------------------------------------------------------------

    def _bot_env(self, slack: StandIn, redis: RedisServer, port: int) -> dict[str, str]:
        return child_env(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=self.signing_secret,
            SLACK_API_URL=slack.base_url, REDIS_URL=redis.url, ENCRYPTION_KEYS=self.keys,
            AUDIT_CHANNEL_ID=AUDIT, LOG_LEVEL="INFO", HOST="127.0.0.1", PORT=str(port),
            # Tens of thousands of simulated senders share far more than a workspace holds
            # by default: no cap, but every share still keeps the quota's account.
            QUOTA_SENDER_SECRETS="0", QUOTA_SENDER_BYTES="0", QUOTA_WORKSPACE_SECRETS="0",
            QUOTA_WORKSPACE_BYTES="0")

    def start_bot(self, slack: StandIn, redis: RedisServer, workdir: Path, name: str = "bot"):
        port = free_port()
        return start_server(name, [PYTHON, "-m", "bot"], self._bot_env(slack, redis, port),
                            port=port, workdir=workdir)

    def startup(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        """Process start until GET /readyz answers 200 (polled every 5 ms)."""
        self.log("start-up ...")
        runs = []
        for i in range(2 if self.quick else 5):
            server = self.start_bot(slack, redis, workdir, name=f"startup-{i}")
            runs.append(round(server.ready_seconds or 0.0, 3))
            server.stop()
        t0 = time.perf_counter()
        subprocess.run([PYTHON, "-c", "import bot.web, bot.runtime, uvicorn, uvloop"],
                       cwd=workdir, env=child_env(), check=True)
        imports = time.perf_counter() - t0
        return {"runs_s": runs, "median_s": statistics.median(runs), "max_s": max(runs),
                "import_s": round(imports, 3)}

    def _http(self, server, slack, redis, **kwargs: Any) -> dict[str, Any]:
        profile_to = None
        if self.profile_dir is not None and server.name.startswith("bot"):
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            latency = slack.latency
            profile_to = self.profile_dir / (f"{kwargs['kind']}-{kwargs['concurrency']}-"
                                             f"{round(latency * 1000)}ms.txt")
        result = run(server=server, slack=slack, redis=redis, timing=self.timing,
                     signing_secret=self.signing_secret, profile_to=profile_to, **kwargs)
        self.log(f"  {server.name:<22} {kwargs['kind']:<16} @{kwargs['concurrency']:<3} "
                 f"{result['throughput']:>8.0f}/s  ack p50 {result['ack_p50_ms']} "
                 f"p99 {result['ack_p99_ms']} ms"
                 + (f"  e2e p99 {result.get('e2e_p99_ms')} ms "
                    f"shown {result.get('delivered')}/{result.get('acked')}"
                    if "acked" in result else ""))
        return result

    def floor(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        self.log("framework floor (Bolt AsyncApp, ack only) ...")
        port = free_port()
        server = start_server("floor", [PYTHON, "-m", "benchmarks.floor_app"], child_env(
            PORT=str(port), SLACK_SIGNING_SECRET=self.signing_secret, SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack.base_url), port=port, workdir=workdir)
        out: dict[str, Any] = {}
        fake_clicks = [[f"bench{i:018d}ab", f"U0F{i:07d}"] for i in range(80_000)]
        try:
            for kind, template, items in (
                    ("block_actions", payloads.reveal_click(team_id=TEAM_ID, channel=GENERAL),
                     fake_clicks),
                    ("view_submission", payloads.share_submission(team_id=TEAM_ID,
                                                                  channel=GENERAL), None),
                    ("slash", payloads.slash_command(team_id=TEAM_ID, channel=GENERAL),
                     RECIPIENTS * 400)):
                out[kind] = {}
                for level in LEVELS:
                    out[kind][str(level)] = self._http(
                        server, slack, redis, kind=kind, concurrency=level, template=template,
                        items=items, extra={"sender_prefix": SENDER_PREFIX,
                                            "recipients": RECIPIENTS})
        finally:
            server.stop()
        return out

    def least(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        """benchmarks.least_app: the least any reveal or share through Slack must do."""
        self.log("least reveal and share (benchmarks.least_app) ...")
        key = os.urandom(32)
        port = free_port()
        server = start_server("least", [PYTHON, "-m", "benchmarks.least_app"], child_env(
            PORT=str(port), SLACK_SIGNING_SECRET=self.signing_secret, SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack.base_url, REDIS_URL=redis.url, LEAST_KEY=key.hex()),
            port=port, workdir=workdir)
        # With Slack answering at once (the rows' own keys, as before), and after 100 ms
        # (under "100ms"), as the bot is measured: the targets compare like with like.
        out: dict[str, Any] = {"reveal": {}, "submission": {}}
        reveal = payloads.reveal_click(team_id=TEAM_ID, channel=GENERAL)
        submit = payloads.share_submission(team_id=TEAM_ID, channel=GENERAL)
        try:
            for latency_ms in (0, 100):
                slack.control("latency", {"seconds": latency_ms / 1000})
                runs = out if latency_ms == 0 else out.setdefault(
                    "100ms", {"reveal": {}, "submission": {}})
                for level in LEVELS:
                    clicks = seed_least(redis.url, key,
                                        self._clicks_needed("block_actions", level),
                                        tag=f"{latency_ms}x{level}")
                    runs["reveal"][str(level)] = self._http(
                        server, slack, redis, kind="block_actions", concurrency=level,
                        template=reveal, items=clicks, mint=True, e2e="views",
                        title=REVEALED_TITLE)
                for level in LEVELS:
                    runs["submission"][str(level)] = self._http(
                        server, slack, redis, kind="view_submission", concurrency=level,
                        template=submit, e2e="prompts",
                        extra={"sender_prefix": SENDER_PREFIX, "recipients": RECIPIENTS})
        finally:
            slack.control("latency", {"seconds": 0})
            server.stop()
        return out

    def _clicks_needed(self, kind: str, level: int) -> int:
        rate = ((self.results.get("floor") or {}).get(kind, {}).get(str(level), {})
                .get("throughput") or 3000)
        return math.ceil(1.3 * rate * (self.timing.warmup + self.timing.duration)) + 200

    def bot(self, slack: StandIn, redis: RedisServer, workdir: Path) -> None:
        self.results["bot"] = {}
        server = self.start_bot(slack, redis, workdir)
        reveal = payloads.reveal_click(team_id=TEAM_ID, channel=GENERAL)
        command = payloads.slash_command(team_id=TEAM_ID, channel=GENERAL)
        submit = payloads.share_submission(team_id=TEAM_ID, channel=GENERAL)
        try:
            for latency_ms in (0, 100):
                self.log(f"bot, Slack answering after {latency_ms} ms ...")
                slack.control("latency", {"seconds": latency_ms / 1000})
                runs: dict[str, Any] = {"reveal": {}, "command": {}, "submission": {}}
                for level in LEVELS:
                    clicks = self._seed(redis, self._clicks_needed("block_actions", level),
                                        tag=f"{latency_ms}x{level}")
                    runs["reveal"][str(level)] = self._http(
                        server, slack, redis, kind="block_actions", concurrency=level,
                        template=reveal, items=clicks, mint=True, e2e="views",
                        title=REVEALED_TITLE)
                for level in LEVELS:
                    runs["command"][str(level)] = self._http(
                        server, slack, redis, kind="slash", concurrency=level, template=command,
                        items=RECIPIENTS * 400, mint=True, e2e="views", title=FORM_TITLE)
                for level in LEVELS:
                    runs["submission"][str(level)] = self._http(
                        server, slack, redis, kind="view_submission", concurrency=level,
                        template=submit, e2e="prompts",
                        extra={"sender_prefix": SENDER_PREFIX, "recipients": RECIPIENTS})
                if latency_ms == 100:
                    runs["open_reveal"] = self._open_loop(server, slack, redis, reveal)
                self.results["bot"][f"{latency_ms}ms"] = runs
            if self.wanted("overload"):
                self.log(f"bot overloaded: Slack answering after {OVERLOAD_LATENCY} s ...")
                slack.control("latency", {"seconds": OVERLOAD_LATENCY})
                clicks = self._seed(redis, self._clicks_needed("block_actions", 64), tag="ov")
                result = self._http(server, slack, redis, kind="block_actions", concurrency=64,
                                    template=reveal, items=clicks, mint=True, e2e="views",
                                    title=REVEALED_TITLE, settle_timeout=90.0)
                calls = slack.control("calls")["calls"]
                self.results["overload"] = {"latency_s": OVERLOAD_LATENCY, "run": result,
                                            "outcomes": outcome_counts(calls, render.BUSY)}
        finally:
            slack.control("latency", {"seconds": 0})
            self.results["bot_log"] = log_summary(server.log_text())
            server.stop()

    def _open_loop(self, server: Any, slack: StandIn, redis: RedisServer,
                   reveal: str) -> dict[str, Any]:
        """Clicks on Reveal arriving on a fixed schedule (OPEN_RATES per second), sent
        whether or not earlier ones were answered: their latencies count the queueing a
        closed loop hides."""
        out: dict[str, Any] = {}
        for rate in OPEN_RATES:
            clicks = self._seed(redis, math.ceil(1.2 * rate * (self.timing.warmup
                                                               + self.timing.duration)) + 100,
                                tag=f"open{rate}")
            out[str(rate)] = self._http(server, slack, redis, kind="block_actions",
                                        concurrency=8, template=reveal, items=clicks,
                                        mint=True, e2e="views", title=REVEALED_TITLE,
                                        extra={"rate": rate})
        return out

    def _seed(self, redis: RedisServer, clicks: int, *, tag: str) -> list[list[str]]:
        t0 = time.perf_counter()
        made = asyncio.run(storage.seed_secrets(redis.url, self.keys, count=(clicks + 1) // 2,
                                                team_id=TEAM_ID, channel=GENERAL, tag=tag,
                                                senders=self.senders))
        self.log(f"  seeded {len(made) // 2} secrets in {time.perf_counter() - t0:.1f} s")
        return made

    # -- the web page -------------------------------------------------------------------

    def web(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        """The reveal page's POST /s/<id>/reveal, one link secret per request, seeded
        beforehand as the share form stores them. The bot serves its pages at its own
        address (PUBLIC_URL), behind a proxy it trusts (TRUSTED_PROXIES): each request
        comes from a client address of its own, as many people opening their links do,
        rather than from one address that the per-address limit would soon refuse."""
        self.log("web reveal (POST /s/<id>/reveal) and API create (POST /api/v1/secrets) ...")
        port = free_port()
        public_url = f"http://127.0.0.1:{port}"
        env = {**self._bot_env(slack, redis, port), "PUBLIC_URL": public_url,
               "TRUSTED_PROXIES": "127.0.0.1/32", "API_LIMIT": "off"}
        server = start_server("bot-web", [PYTHON, "-m", "bot"], env, port=port,
                              workdir=workdir)
        # "reveal": what the target compares with snappass (one request, one Redis step,
        # one decryption, and the audit): secrets whose senders asked for no receipt.
        # "reveal_receipt": each reveal also DMs its sender through Slack (the stand-in),
        # after the answer.
        out: dict[str, Any] = {"reveal": {}, "reveal_receipt": {}, "create": {}}
        try:
            # "create": POST /api/v1/secrets, a 100-byte secret for anyone with the link,
            # with an API token (limit off), against snappass's create.
            token = asyncio.run(storage.api_token(redis.url, self.keys, team_id=TEAM_ID))
            for level in LEVELS:
                out["create"][str(level)] = self._http(
                    server, slack, redis, kind="api_create", concurrency=level,
                    template=payloads.api_create(), extra={"token": token})
            for name, receipts in (("reveal", False), ("reveal_receipt", True)):
                for level in LEVELS:
                    links = self._seed_links(redis, self._links_needed(level),
                                             receipts=receipts)
                    out[name][str(level)] = self._http(
                        server, slack, redis, kind="web_reveal", concurrency=level,
                        items=links, e2e="receipts" if receipts else None,
                        extra={"origin": public_url})
        finally:
            out["log"] = log_summary(server.log_text())
            server.stop()
        return out

    def _links_needed(self, level: int) -> int:
        """Enough link secrets for a run at twice snappass's reveal rate (the target is
        1.5 times it), or 1,500 per second when snappass was not measured."""
        peer, _ = best_peer(self.results, "reveal", level)
        rate = max(2 * (peer or 0), 1500)
        return math.ceil(1.3 * rate * (self.timing.warmup + self.timing.duration)) + 200

    def least_web(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        """benchmarks.least_web: the least any web reveal must do, driven as the bot's
        page is (the same load generator and requests, one seeded secret each)."""
        self.log("least web reveal (benchmarks.least_web) ...")
        port = free_port()
        server = start_server("least-web", [PYTHON, "-m", "benchmarks.least_web"],
                              child_env(PORT=str(port), REDIS_URL=redis.url), port=port,
                              workdir=workdir)
        out: dict[str, Any] = {"reveal": {}}
        try:
            for level in LEVELS:
                # It answers about 10,000 per s on one core of the benchmark machine:
                # seed for twice that (seeding costs about 15 µs a secret), and a run
                # that still runs out is marked EXHAUSTED.
                count = self._least_links_needed(level)
                t0 = time.perf_counter()
                links = seed_least_web(redis.url, count, tag=str(level))
                self.log(f"  seeded {len(links)} least web secrets in "
                         f"{time.perf_counter() - t0:.1f} s")
                out["reveal"][str(level)] = self._http(
                    server, slack, redis, kind="web_reveal", concurrency=level, items=links,
                    extra={"origin": f"http://127.0.0.1:{port}"})
        finally:
            server.stop()
        return out

    def _least_links_needed(self, level: int) -> int:
        peer, _ = best_peer(self.results, "reveal", level)
        rate = max(10 * (peer or 0), 20_000)
        return math.ceil(1.3 * rate * (self.timing.warmup + self.timing.duration)) + 200

    def _seed_links(self, redis: RedisServer, count: int, *,
                    receipts: bool) -> list[list[str]]:
        t0 = time.perf_counter()
        made = asyncio.run(storage.seed_link_secrets(redis.url, self.keys, count=count,
                                                     team_id=TEAM_ID, senders=self.senders,
                                                     receipts=receipts))
        self.log(f"  seeded {len(made)} link secrets in {time.perf_counter() - t0:.1f} s")
        return made

    # -- the peer -------------------------------------------------------------------------

    def snappass(self, slack: StandIn, redis: RedisServer, workdir: Path) -> dict[str, Any]:
        url = redis.url.replace("/0", "/2")
        out: dict[str, Any] = {}
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        servings = {
            "uvicorn+a2wsgi": [PYTHON, "-m", "benchmarks.peer_app"],
            "gunicorn gthread": [gunicorn, "--workers", "1", "--worker-class", "gthread",
                                 "--threads", "16", "--bind", "127.0.0.1:{port}",
                                 "--log-level", "warning", "snappass.main:app"],
        }
        for serving, argv in servings.items():
            self.log(f"snappass ({serving}) ...")
            port = free_port()
            server = start_server(f"snappass-{serving.split()[0]}",
                                  [a.format(port=port) for a in argv],
                                  child_env(PORT=str(port), REDIS_URL=url, NO_SSL="true"),
                                  port=port, workdir=workdir, ready_path="/")
            runs: dict[str, Any] = {"create": {}, "reveal": {}}
            try:
                for level in LEVELS:
                    runs["create"][str(level)] = self._http(
                        server, slack, redis, kind="snappass_create", concurrency=level,
                        template=payloads.snappass_create())
                for level in LEVELS:
                    rate = max(runs["create"][str(level)]["throughput"] * 2, 2000)
                    count = math.ceil(1.3 * rate * (self.timing.warmup + self.timing.duration))
                    tokens = seed_snappass(url, count)
                    runs["reveal"][str(level)] = self._http(
                        server, slack, redis, kind="snappass_reveal", concurrency=level,
                        items=tokens)
            finally:
                server.stop()
            out[serving] = runs
        return out


def log_summary(text: str) -> dict[str, int]:
    """Warnings and errors in a server log, counted by logger and message (no values)."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
            key = parts[2] + " " + re.sub(r"\b[UC][A-Z0-9]{6,}\b|\d+", "#", parts[3])[:120]
            counts[key] = counts.get(key, 0) + 1
        elif line.startswith(("Traceback", "  File")) is False and "Error" in line[:40]:
            counts[line[:120]] = counts.get(line[:120], 0) + 1
    return counts


def seed_least(redis_url: str, key: bytes, count: int, *, tag: str) -> list[list[str]]:
    """Secrets as benchmarks.least_app stores them; return [secret id, recipient]s."""
    import redis
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from benchmarks.least_app import PREFIX, seal

    cipher = AESGCM(key)
    client = redis.Redis.from_url(redis_url)
    clicks = []
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        secret_id = f"least{tag}x{i:012d}"
        pipe.set(PREFIX + secret_id, seal(cipher, secret_id, payloads.SECRET_100), ex=3600)
        clicks.append([secret_id, RECIPIENTS[i % len(RECIPIENTS)]])
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    client.close()
    return clicks


def seed_least_web(redis_url: str, count: int, *, tag: str) -> list[list[str]]:
    """Secrets as benchmarks.least_web stores them, each under a link key of its own;
    return [secret id, link key]s, the key as the link carries it."""
    import redis

    from benchmarks.least_web import PREFIX, seal
    from bot.secrets.external import encode_link_key

    client = redis.Redis.from_url(redis_url)
    links = []
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        secret_id, key = f"leastweb{tag}x{i:012d}", os.urandom(32)
        pipe.set(PREFIX + secret_id, seal(key, secret_id, payloads.SECRET_100), ex=3600)
        links.append([secret_id, encode_link_key(key)])
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    client.close()
    return links


def seed_snappass(redis_url: str, count: int) -> list[str]:
    """Secrets stored exactly as snappass's set_password stores them; return their tokens."""
    import uuid

    import redis
    from snappass.main import REDIS_PREFIX, TOKEN_SEPARATOR, encrypt

    client = redis.Redis.from_url(redis_url)
    tokens = []
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        key = REDIS_PREFIX + uuid.uuid4().hex
        encrypted, fernet_key = encrypt(payloads.SECRET_100)
        pipe.setex(key, 86400, encrypted)
        tokens.append(TOKEN_SEPARATOR.join([key, fernet_key.decode()]))
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    client.close()
    return tokens


__all__ = ["REPO", "Suite"]
