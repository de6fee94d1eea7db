"""Shared fixtures: a real Redis (REDIS_URL, or a throwaway server) and test keys."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest
import redis
from pytest_redis import factories

from bot.crypto import MasterKey, StaticKeyRing

# Started only when REDIS_URL is not set: a redis-server of our own on a free port.
throwaway_redis = factories.redis_proc(port=None)

TEST_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """A Redis the tests may flush: REDIS_URL when set, else a throwaway server."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    proc = request.getfixturevalue("throwaway_redis")
    return f"redis://{proc.host}:{proc.port}/0"


@pytest.fixture
def redis_sync(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on a database flushed around the test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def keyring() -> StaticKeyRing:
    return StaticKeyRing([MasterKey("k1", bytes(range(32)))])
