"""Closing the browser gives the thread back to asyncio (a module of its own: no browser
fixture may be open here)."""

from __future__ import annotations

import asyncio

import pytest

from devtools.harness.browser import launch_chromium, open_page


def test_asyncio_works_again_once_the_browser_is_closed():
    """The browser fixture is module-scoped for this: an open sync Playwright marks its loop
    as running in this thread, and a later `async def` test could not start."""
    with launch_chromium() as browser, open_page(browser) as page:
        page.set_content("<p>hi</p>")
        pending = _answer()
        with pytest.raises(RuntimeError, match="running event loop"):
            asyncio.run(pending)
        pending.close()  # never started: closed, so no "never awaited" warning
    assert asyncio.run(_answer()) == 42


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42
