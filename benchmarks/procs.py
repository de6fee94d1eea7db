"""The processes a benchmark run starts: Redis, the Slack stand-in, the servers under test.

Every server runs as a subprocess of its own, so that each one's CPU time can be read
from the kernel (psutil) and none shares an interpreter with the load generator.
"""

# ruff: noqa: S603, S310 - a benchmark that starts its own local processes

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from devtools.harness.redis_nodes import free_port
from devtools.harness.redis_nodes import redis_server as redis_server_executable

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def child_env(**extra: str) -> dict[str, str]:
    """A clean environment (nothing from the developer's shell leaks into a server)."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "1", **extra}


@dataclass
class Server:
    """A started subprocess listening on 127.0.0.1:port."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    ready_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its children (gunicorn's worker)."""
        try:
            root = psutil.Process(self.proc.pid)
            total = 0.0
            for p in [root, *root.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
            return total
        except psutil.NoSuchProcess:
            return 0.0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_get(port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def start_server(name: str, argv: list[str], env: Mapping[str, str], *, port: int,
                 workdir: Path, ready_path: str = "/readyz", timeout: float = 30.0,
                 poll: float = 0.005) -> Server:
    """Start `argv`; return once GET ready_path answers 200, timing it from the spawn."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("ab")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=workdir, env=dict(env), stdout=log,
                            stderr=subprocess.STDOUT)
    server = Server(name, proc, port, log_path)
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{server.log_text()}")
        try:
            if http_get(port, ready_path, timeout=1.0) == 200:
                server.ready_seconds = time.perf_counter() - t0
                return server
        except OSError:
            pass
        time.sleep(poll)
    server.stop()
    raise RuntimeError(f"{name} did not become ready:\n{server.log_text()}")


@dataclass
class RedisServer:
    url: str
    port: int
    proc: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
            return times.user + times.system
        except psutil.NoSuchProcess:
            return 0.0


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server on a free port, persisting nothing."""
    with tempfile.TemporaryDirectory(prefix="share-secret-bench-redis-") as datadir:
        port = free_port()
        proc = subprocess.Popen(
            [redis_server_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", datadir, "--loglevel", "warning",
             "--databases", "4"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import redis
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            client.close()
            yield RedisServer(f"redis://127.0.0.1:{port}/0", port, proc)
        finally:
            proc.terminate()
            proc.wait(10)


class StandIn:
    """The Slack stand-in process (benchmarks.standin_proc) and its control routes."""

    def __init__(self, workdir: Path) -> None:
        self._log = (workdir / "standin.log").open("ab")
        self.proc = subprocess.Popen([PYTHON, "-m", "benchmarks.standin_proc"], cwd=REPO,
                                     env=child_env(), stdout=subprocess.PIPE,
                                     stderr=self._log)
        assert self.proc.stdout is not None
        self.root_url = self.proc.stdout.readline().decode().strip()
        if not self.root_url.startswith("http://"):
            raise RuntimeError("the Slack stand-in did not start")
        self.base_url = self.root_url + "/api/"
        self.latency = 0.0

    def control(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if route == "latency":
            self.latency = float((body or {})["seconds"])
        request = urllib.request.Request(
            f"{self.root_url}/bench/{route}", data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def cpu_seconds(self) -> float:
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
            return times.user + times.system
        except psutil.NoSuchProcess:
            return 0.0

    def settle(self, *, quiet: float = 0.5, timeout: float = 30.0) -> float:
        """Wait until no call has been recorded for `quiet` seconds; return the seconds waited."""
        t0 = time.monotonic()
        seen = -1
        while time.monotonic() - t0 < timeout:
            count = self.control("count")["count"]
            if count == seen:
                return time.monotonic() - t0
            seen = count
            time.sleep(quiet)
        return time.monotonic() - t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator process with `spec`; return its result."""
    done = subprocess.run([PYTHON, "-m", "benchmarks.load"], cwd=REPO, env=child_env(),
                          input=json.dumps(spec).encode(), capture_output=True, check=False,
                          timeout=spec["warmup"] + spec["duration"] + 120)
    if done.returncode != 0:
        raise RuntimeError("load generator failed:\n" + done.stderr.decode(errors="replace"))
    return json.loads(done.stdout)
