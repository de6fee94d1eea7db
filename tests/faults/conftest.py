"""What the crash tests share: a Redis database of their own for the bots they kill."""

from __future__ import annotations

import pytest

from tests.conftest import flushed, own_db


@pytest.fixture
def crash_db(redis_url):
    """(URL, client) of database 5 of the test Redis, flushed around the test: the bots a
    test starts and kills there share nothing with the session's bot (database 0)."""
    url = own_db(redis_url, 5)
    with flushed(url) as client:
        yield url, client
