"""The bot over TLS (rediss://) to a redis-server that requires client certificates and
a password; certificates are made here. Skipped, saying why, where redis-server has no
TLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.errors import StorageUnavailable
from bot.storage import KeySpace, RedisSecretStore, connect
from devtools.harness.redis_tls import TlsRedis, tls_unsupported
from tests.conftest import keyring_of_test_keys
from tests.redis_modes.redis_mode_checks import check_doctor, check_share_and_reveal, check_tools

pytestmark = [pytest.mark.redis_tls, pytest.mark.e2e]

PASSWORD = "tls-redis-pa55word"


@pytest.fixture(scope="module")
def server() -> Iterator[TlsRedis]:
    reason = tls_unsupported()
    if reason:
        pytest.skip(reason)
    with TlsRedis(password=PASSWORD) as started:
        yield started


@pytest.fixture(scope="module")
def redis_mode(server):
    return server


def test_share_and_reveal_over_tls(sim, server, bot):
    """Share, reveal and audit work over rediss:// with a client certificate; the
    password in REDIS_URL never reaches the bot's log."""
    with server.client() as client:
        check_share_and_reveal(sim, client)
    assert PASSWORD not in bot.log_text()


def test_tools_over_tls(sim, server, tmp_path):
    """`admin stats` and `audit export` connect over TLS too."""
    check_tools(sim, server.url, tmp_path, count=2)
    check_doctor(server.url, tmp_path)


@pytest.mark.parametrize("missing", ["ca", "client_cert"])
async def test_tls_is_verified_both_ways(server, missing):
    """Without the CA the bot does not trust the server; without a client certificate
    the server refuses the bot: either way the store reads as unavailable."""
    client = connect(server.url_with(**{missing: False}))
    store = RedisSecretStore(client, keys=KeySpace("ss"), keyring=keyring_of_test_keys(),
                             metadata_retention_seconds=60)
    with pytest.raises(StorageUnavailable):
        await store.ping()
    await client.aclose()
