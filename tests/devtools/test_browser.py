"""The browser harness drives Debian's chromium: it loads a page served here, runs its script
on a click, and takes a screenshot."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from devtools.harness.browser import (
    CHROMIUM_FLAGS,
    chromium_executable,
    open_page,
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Harness check</title>
<script src="/click.js" defer></script></head>
<body><button id="reveal" type="button">Reveal</button><output id="result"></output></body>
</html>"""
# Served as its own file, as the reveal page's script will be (its policy allows no inline).
SCRIPT = """document.getElementById("reveal").addEventListener("click", () => {
  document.getElementById("result").textContent = "revealed: " + location.hash.slice(1);
});"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request on stderr."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny site on a free local port, served from a thread; yields its base URL."""
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(PAGE)
    (root / "click.js").write_text(SCRIPT)
    handler = partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_click_runs_the_pages_script_and_a_screenshot_is_a_png(page, site, tmp_path: Path):
    page.goto(f"{site}/index.html#k3y")
    assert page.title() == "Harness check"

    page.get_by_role("button", name="Reveal").click()

    assert page.locator("#result").text_content() == "revealed: k3y"
    shot = tmp_path / "after.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 1000


def test_each_page_starts_with_empty_storage(browser, site):
    """Pages from `open_page` share nothing: what one stores, the next does not see."""
    with open_page(browser) as first:
        first.goto(f"{site}/index.html")
        first.evaluate("localStorage.setItem('seen', 'yes')")
        assert first.evaluate("localStorage.getItem('seen')") == "yes"
    with open_page(browser) as second:
        second.goto(f"{site}/index.html")
        assert second.evaluate("localStorage.getItem('seen')") is None


def test_the_browser_runs_with_the_quiet_flags_and_a_fresh_profile(browser):
    """The flags reach the chromium process Playwright started (found among this process's
    descendants), with a temporary user-data dir of its own."""
    launched = [command for command in map(_cmdline, psutil.Process().children(recursive=True))
                if "--remote-debugging-pipe" in command]
    assert launched, "no chromium process below this one"
    command = launched[0]
    assert "chromium" in command[0] or os.environ.get("CHROMIUM") == command[0]
    for flag in CHROMIUM_FLAGS:
        assert flag in command
    assert "--headless" in " ".join(command)
    profile = [arg for arg in command if arg.startswith("--user-data-dir=")]
    assert profile
    assert profile[0].removeprefix("--user-data-dir=").startswith(tempfile.gettempdir())


def _cmdline(process: psutil.Process) -> list[str]:
    """Its command line, or nothing for one already gone (a launcher that exec'd, a zombie)."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def test_chromium_executable_prefers_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("CHROMIUM", "/opt/chrome/chrome")
    assert chromium_executable() == "/opt/chrome/chrome"
    monkeypatch.delenv("CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="install-chromium"):
        chromium_executable()

