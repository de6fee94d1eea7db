"""A real Chromium for the browser tests and the demo's screenshots, driven by Playwright.

Playwright launches Debian's `chromium` (`make test` installs it), never a browser build of its
own: `playwright install` downloads one from outside the package registries, which fails
offline. Usage:

    with launch_chromium() as browser, open_page(browser) as page:
        page.goto("http://127.0.0.1:8080/s/abc#key")
        page.get_by_role("button", name="Reveal").click()
        page.screenshot(path="after.png")

This is Playwright's sync API: call it from plain functions, not from inside a running event
loop (an `async def` test). While a browser is open, Playwright marks its own loop as running
in the calling thread, so `asyncio.run` there fails until the `with` block ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

# Each one keeps the browser to the page under test. Without them Chromium reaches out on its
# own (component updates, safe-browsing lists, field trials, QUIC probes) to hosts that a
# closed network refuses, which slows a launch and fills the log; --no-sandbox because the
# tests run as root in containers, where Chromium's sandbox cannot start.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_executable() -> str:
    """The Chromium to launch: $CHROMIUM when set, else `chromium` on the PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed: run scripts/install-chromium.sh "
                           "(or set CHROMIUM to a Chromium or Chrome binary)")
    return found


@contextmanager
def launch_chromium(*, headless: bool = True, slow_mo: float = 0) -> Iterator[Browser]:
    """Start a headless Chromium; yield the Playwright `Browser`; close it afterwards.

    Each launch gets a fresh, temporary user-data dir (Playwright makes one per launch and
    removes it at close), so no cookie, cache or storage outlives it.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=headless, slow_mo=slow_mo,
            args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a context of its own (no cookies or storage shared with other pages),
    closed afterwards. `context_options` go to `Browser.new_context` (viewport, user_agent,
    locale, ...)."""
    context = browser.new_context(**context_options)
    try:
        yield context.new_page()
    finally:
        context.close()
