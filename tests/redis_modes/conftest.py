"""The bot on a module's own Redis set-up: each module that uses `bot` or `sim` defines
`redis_mode`, a started LocalRedisCluster, LocalSentinel or TlsRedis (anything with a
`url` and a `flush()`)."""

from __future__ import annotations

import pytest

from tests.conftest import bot_with
from tests.redis_modes.redis_mode_checks import fresh_sim


@pytest.fixture(scope="module")
def bot(redis_mode, slack, tmp_path_factory):
    with bot_with(slack, redis_mode.url, tmp_path_factory.mktemp("bot-redis-mode")) as process:
        yield process


@pytest.fixture
def sim(bot, slack, redis_mode):
    return fresh_sim(bot, slack, redis_mode.flush)
