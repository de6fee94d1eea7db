"""Thirty reveal POSTs for one link secret at the same moment, over plain HTTP to the real
bot: each allowed view is used once, whoever wins, and everyone else is told the secret
is gone (no browser here: threads, each with its connection open before the start)."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import settle
from tests.e2e.browser.sharing import (
    BROWSER_UA,
    Shared,
    assert_kept_nowhere,
    new_secret,
    share_outside,
)

pytestmark = pytest.mark.e2e

RACERS = 30


def race(port: int, origin: str, shared: Shared) -> list[tuple[int, dict]]:
    """RACERS reveal POSTs, released together; each one's status and JSON answer."""
    start = threading.Barrier(RACERS)
    body = json.dumps({"key": shared.key}).encode()
    headers = {"Content-Type": "application/json", "Origin": origin,
               "User-Agent": BROWSER_UA}

    def one() -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.connect()
            start.wait(timeout=30)
            conn.request("POST", f"{shared.path}/reveal", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(lambda _: one(), range(RACERS)))


@pytest.mark.parametrize("views", [1, 3])
def test_concurrent_reveals_use_each_view_once(wsim, slack, web_bot, redis_sync, views):
    secret = new_secret("raced")
    shared = share_outside(wsim, slack, "link", secret=secret, views="total",
                           total_views=str(views))
    answers = race(web_bot.port, web_bot.url, shared)

    revealed = [answer for status, answer in answers if status == 200]
    assert len(revealed) == views, [status for status, _ in answers]
    assert all(answer["text"] == secret for answer in revealed)
    assert [answer["last_view"] for answer in revealed].count(True) == 1
    assert sorted(status for status, _ in answers) == [200] * views + \
        [404] * (RACERS - views)
    assert {answer["outcome"] for status, answer in answers if status != 200} == {"gone"}
    settle(slack)
    assert_kept_nowhere(web_bot, redis_sync, slack, shared, secret)
