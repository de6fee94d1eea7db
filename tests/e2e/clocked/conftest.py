"""End-to-end tests that run the bot in this process, so that they can move its clock:
the app (`live`), its clock and the simulated Slack client (`sim`) they share."""

from __future__ import annotations

import time

import pytest

from devtools.harness.clock import FakeClock
from devtools.harness.inprocess import InProcessBot
from tests.conftest import inprocess_settings, settle, sim_for


@pytest.fixture(scope="module")
def clock():
    return FakeClock()


@pytest.fixture(scope="module")
def live(slack, redis_url, clock):
    with InProcessBot(inprocess_settings(slack, redis_url), clock=clock) as bot:
        yield bot


@pytest.fixture
def sim(live, slack, redis_sync, clock):
    clock.now = time.time()
    yield sim_for(live, slack)
    settle(slack)
