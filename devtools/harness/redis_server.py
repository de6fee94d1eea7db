"""A throwaway redis-server on a free port (for the demo and benchmarks; pytest uses
pytest-redis's fixture, which runs the same executor), and a persistent one that can be
restarted (for the soak test)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from pytest_redis.executor import RedisExecutor

from devtools.harness.redis_nodes import free_port, redis_server


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start redis-server (nothing saved to disk); yield its URL; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="share-secret-redis-") as datadir:
        port = free_port()
        server = RedisExecutor(redis_server(), databases=4, redis_timeout=30, loglevel="warning",
                               host="127.0.0.1", port=port, datadir=Path(datadir))
        server.start()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.stop()


class PersistentRedis:
    """A redis-server that keeps every acknowledged write on disk (AOF, fsync always) in
    `datadir`, on one port for its whole life: it can be stopped, killed and started
    again, and comes back with its data (for the soak test's Redis restarts)."""

    def __init__(self, datadir: Path, *, port: int | None = None) -> None:
        self.executable = redis_server()
        self.datadir = datadir
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> PersistentRedis:
        """Start the server and wait until it answers PING (its data loaded)."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.datadir), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--loglevel", "warning", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start on {self.port}") \
                            from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(15)

    def kill(self) -> None:
        """SIGKILL: a crash (with fsync always, nothing acknowledged is lost)."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(15)

    def __enter__(self) -> PersistentRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
