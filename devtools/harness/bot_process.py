"""The real bot, `python -m bot`, as a subprocess with its own environment and log file."""

from __future__ import annotations

import contextlib
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

    The bot counts as started when `ready()` holds: by default when GET /readyz
    answers 200 (HTTP mode: Redis reachable, keys usable). A bot in Socket Mode serves
    no HTTP, so its tests pass a check of their own, such as "the Socket Mode stand-in
    saw a connection".
    """

    def __init__(self, env: Mapping[str, str], *, workdir: Path,
                 ready: Callable[[], bool] | None = None, port: int | None = None) -> None:
        # `port` when the environment must name it beforehand (PUBLIC_URL, the bot's own
        # address); else a free one.
        self.port = port or get_port(None)
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
        # A session of its own: with WEB_CONCURRENCY > 1 the bot is a supervisor and its
        # workers, and `kill` must not leave workers behind.
        self._proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=self.workdir,
                                      env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
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
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    @property
    def url(self) -> str:
        """Where the bot listens: PUBLIC_URL for tests that open its web pages (set it in
        `env` before `start`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self._proc.poll() if self._proc else None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def terminate(self) -> None:
        """SIGTERM to the bot's main process only, as an orchestrator sends it."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """The exit status once the bot has ended (subprocess.TimeoutExpired if not)."""
        assert self._proc is not None
        return self._proc.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if the bot has not exited after `timeout` seconds."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to the bot and any worker processes: no shutdown code runs (a crash)."""
        if self._proc and self._proc.poll() is None:
            self._kill_group()
            self._proc.wait(10)

    def _kill_group(self) -> None:
        # Only while the main process is unreaped: its id is then still its group's.
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

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
