"""The real bot, `python -m bot`, as a subprocess with its own environment and log file."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from port_for import get_port

REPO = Path(__file__).resolve().parents[2]


class BotProcess:
    """Starts the bot and talks to it over real HTTP.

    The bot counts as started when `ready()` holds: by default when GET /healthz
    answers 200 (HTTP mode). A bot in Socket Mode serves no HTTP, so its tests pass
    a check of their own, such as "the Socket Mode stand-in saw a connection".
    """

    def __init__(self, env: Mapping[str, str], *, workdir: Path,
                 ready: Callable[[], bool] | None = None) -> None:
        self.port = get_port(None)
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self._ready = ready or self._healthy
        # A clean environment: only what we pass, so nothing from the developer's shell
        # (or a .env in the repo: the process runs in workdir) leaks in.
        self.env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
                    "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> BotProcess:
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=self.workdir,
                                      env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self._proc.returncode}:\n{self.log_text()}")
            if self._ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bot did not become ready:\n{self.log_text()}")

    def _healthy(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self._proc.poll() if self._proc else None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if the bot has not exited after `timeout` seconds."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return http_request(self.port, method, path, body, headers)

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)


def http_request(port: int, method: str, path: str, body: bytes = b"",
                 headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """One HTTP/1.1 request to the bot on 127.0.0.1:port; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
