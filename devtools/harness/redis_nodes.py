"""One `redis-server` process (a data node or a Sentinel) on a free port in a temp dir.

The building block of the Cluster, Sentinel and TLS set-ups in this package. Nothing is
saved to disk; every process is stopped by `stop()` (or the context manager).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

import redis
from port_for import get_port

START_TIMEOUT = 15.0


class RedisSetupError(RuntimeError):
    """A redis-server could not be started or did not get ready in time."""


def redis_server() -> str:
    """The redis-server executable (tests start their own)."""
    found = shutil.which("redis-server")
    if found is None:
        raise RedisSetupError("redis-server is not installed (apt-get install redis-server)")
    return found


def free_port() -> int:
    port = get_port(None)
    assert port is not None
    return port


class RedisNode:
    """A redis-server on 127.0.0.1:`port`, with extra arguments or a config file."""

    def __init__(self, workdir: Path, *, args: Iterable[str] = (), config: str | None = None,
                 sentinel: bool = False, port: int | None = None,
                 ping: Callable[[RedisNode], bool] | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "redis.log"
        self._ping = ping or RedisNode._plain_ping
        command = [redis_server()]
        if config is not None or sentinel:
            # A Sentinel rewrites its config file: it needs one of its own, writable.
            conf = workdir / "redis.conf"
            conf.write_text(config or "")
            command.append(str(conf))
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(workdir),
                    "--logfile", str(self.log_path), "--daemonize", "no"]
        if not sentinel:
            command += ["--save", "", "--appendonly", "no"]
        command += list(args)
        if sentinel:
            command.append("--sentinel")
        self.command = command
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisNode:
        self._proc = subprocess.Popen(self.command, cwd=self.workdir,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisSetupError(f"redis-server exited with {self._proc.returncode}: "
                                      f"{self.log_tail()}")
            if self._ping(self):
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisSetupError(f"redis-server on port {self.port} did not answer: "
                              f"{self.log_tail()}")

    @staticmethod
    def _plain_ping(node: RedisNode) -> bool:
        try:
            with node.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def client(self, **kwargs: object) -> redis.Redis:
        """A plain synchronous client of this process (short timeouts)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5,
                           socket_connect_timeout=2, **kwargs)  # type: ignore[arg-type]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RedisNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisSetup(ABC):
    """Several redis-server processes in a temp dir of their own, started and torn down
    together (the Cluster, Sentinel and TLS set-ups). A set-up starts its processes in
    `_start_in(root)` and stops them in `_stop_processes()`; a start that fails part-way
    stops what it started and removes the dir."""

    temp_prefix = "share-secret-redis-"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix=self.temp_prefix)
        try:
            self._start_in(Path(self._tmp.name))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stop_processes()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @abstractmethod
    def _start_in(self, root: Path) -> None:
        """Start the set-up's processes, with their files under `root`."""

    @abstractmethod
    def _stop_processes(self) -> None:
        """Stop whichever of the set-up's processes were started."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(check: Callable[[], bool], *, timeout: float, what: str,
               interval: float = 0.1) -> None:
    """Poll `check` until it holds; RedisSetupError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(interval)
    raise RedisSetupError(f"timed out waiting for {what}")
