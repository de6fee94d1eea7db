"""A redis-server a test can stop, restart and pause, keeping its port and its data.

The fault tests need what pytest-redis's session server cannot give them: the bot's
Redis going away and coming back under it. Data survives a restart because the server
writes an append-only file fsynced on every write (`appendfsync always`) into a data
directory that outlives the process.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
from port_for import get_port


class ControlledRedis:
    """One redis-server process on a fixed port; `stop`/`start` restart it with its data,
    `pause`/`resume` freeze it (SIGSTOP/SIGCONT), as a network that stops answering."""

    def __init__(self, datadir: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.executable = executable
        self.datadir = datadir
        self.port = get_port(None)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self, timeout: float = 10.0) -> None:
        """Start (or start again) on the same port and data directory; wait until it answers."""
        self._proc = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.datadir), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.client() as probe:
                    if probe.ping():
                        return
            except redis.exceptions.RedisError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits; the port is then closed."""
        if self._proc is not None and self._proc.poll() is None:
            self.resume()
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(10)
        self._proc = None

    def pause(self) -> None:
        """Freeze the server: connections stay open but nothing is answered."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> ControlledRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
