"""REDIS_URL: one server, TLS, Sentinel and Cluster read into one clear description;
bad URLs refused in one line that never shows the password; every mode bounded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

from bot.config import load_settings
from bot.errors import ConfigError
from bot.storage.cluster import BoundedRedisCluster
from bot.storage.connection import MAX_CONNECTIONS, TIMEOUT_SECONDS, connect
from bot.storage.redis_url import RedisMode, Tls, parse_redis_url
from bot.storage.sending import _DirectSend
from bot.storage.sentinel import BlockingSentinelPool, SentinelMasterRedis
from devtools.harness.bot_process import REPO
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS

PASSWORD = "pa55:w0rd@hunter2"
QUOTED = "pa55%3Aw0rd%40hunter2"


def test_one_server_urls():
    """redis://, rediss:// and unix:// name one server, its database and credentials."""
    plain = parse_redis_url("redis://localhost:6380/2")
    assert (plain.mode, plain.nodes, plain.db, plain.password) == (
        RedisMode.SERVER, (("localhost", 6380),), 2, None)
    assert parse_redis_url("redis://redis").nodes == (("redis", 6379),)
    secured = parse_redis_url(f"rediss://app:{QUOTED}@db.internal/0")
    assert (secured.username, secured.password, secured.tls) == ("app", PASSWORD, Tls())
    assert parse_redis_url("redis://onlypassword@h").password == "onlypassword"
    sock = parse_redis_url("unix:///var/run/redis.sock?db=3")
    assert (sock.unix_path, sock.db, sock.nodes) == ("/var/run/redis.sock", 3, ())
    assert parse_redis_url("redis://[::1]:7000").nodes == (("::1", 7000),)


def test_tls_options_from_the_query(tmp_path):
    """CA file, client certificate and verification choices come from the URL's query."""
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("x")
    target = parse_redis_url(
        f"rediss://h:6380?ssl_ca_certs={tmp_path}/ca.pem&ssl_certfile={tmp_path}/client.pem"
        f"&ssl_keyfile={tmp_path}/client.key&ssl_cert_reqs=optional&ssl_check_hostname=false")
    assert target.tls == Tls(ca_certs=f"{tmp_path}/ca.pem", certfile=f"{tmp_path}/client.pem",
                             keyfile=f"{tmp_path}/client.key", cert_reqs="optional",
                             check_hostname=False)
    unverified = parse_redis_url("rediss://h?ssl_cert_reqs=none").tls
    assert unverified is not None
    assert unverified.kwargs()["ssl_check_hostname"] is False


def test_sentinel_urls():
    """redis+sentinel:// lists the Sentinels (default port 26379), then the master's name
    and optionally the database; credentials are the master's."""
    target = parse_redis_url(
        f"redis+sentinel://:{QUOTED}@s1:26380,s2,10.0.0.3:5000/mymaster/1"
        "?sentinel_password=sp")
    assert target.mode is RedisMode.SENTINEL
    assert target.nodes == (("s1", 26380), ("s2", 26379), ("10.0.0.3", 5000))
    assert (target.service_name, target.db, target.password, target.sentinel_password) == (
        "mymaster", 1, PASSWORD, "sp")
    assert parse_redis_url("rediss+sentinel://s1/m").tls == Tls()


def test_cluster_urls_and_the_cluster_setting():
    """redis+cluster:// lists seed nodes; REDIS_CLUSTER=true makes a redis:// URL a seed."""
    target = parse_redis_url("redis+cluster://n1:7000,n2:7001")
    assert (target.mode, target.nodes) == (RedisMode.CLUSTER, (("n1", 7000), ("n2", 7001)))
    seed = parse_redis_url("rediss://n1:7000/0", cluster=True)
    assert (seed.mode, seed.tls) == (RedisMode.CLUSTER, Tls())


@pytest.mark.parametrize(("url", "cluster", "says"), [
    (f"http://u:{QUOTED}@h", False, "must start with redis://"),
    (f"redis+cluster+x://:{QUOTED}@h", False, "must start with"),
    (f"redis://:{QUOTED}@h:99999/0", False, "bad port"),
    (f"redis://:{QUOTED}@h:port/0", False, "bad port"),
    (f"redis://:{QUOTED}@/0", False, "needs a host"),
    (f"redis://:{QUOTED}@h/db1", False, "bad database number"),
    (f"redis://:{QUOTED}@h1,h2/0", False, "several hosts"),
    (f"redis+sentinel://:{QUOTED}@s1,s2", False, "must name the Sentinel master"),
    (f"redis+cluster://:{QUOTED}@n1/3", False, "Redis Cluster has only 0"),
    (f"redis+sentinel://:{QUOTED}@s1/m", True, "REDIS_CLUSTER=true"),
    (f"unix://:{QUOTED}@/tmp/r.sock", True, "REDIS_CLUSTER=true"),
    (f"redis://:{QUOTED}@h?socket_timeout=30", False, "'socket_timeout' that is not supported"),
    (f"redis://:{QUOTED}@h?max_connections=9999", False, "'max_connections'"),
    (f"redis://:{QUOTED}@h?ssl_ca_certs=/x", False, "needs TLS"),
    (f"rediss://:{QUOTED}@h?ssl_ca_certs=/no/such/ca.pem", False, "does not exist"),
    (f"rediss://:{QUOTED}@h?ssl_cert_reqs=maybe", False, "bad ssl_cert_reqs"),
    (f"rediss://:{QUOTED}@h?{QUOTED}=1", False, "an option that is not supported"),
    (f"redis://:{QUOTED}@h#{QUOTED}", False, "must not contain '#'"),
])
def test_bad_urls_are_refused_without_the_password(url, cluster, says):
    """Each malformed URL gets one line that names the problem and never the password."""
    with pytest.raises(ConfigError) as caught:
        connect(url, cluster=cluster)
    message = str(caught.value)
    assert message.startswith("REDIS_URL ")
    assert says in message
    assert "\n" not in message
    for part in (PASSWORD, QUOTED, "hunter2", "w0rd"):
        assert part not in message


def test_settings_check_the_url_with_the_cluster_setting(monkeypatch, tmp_path):
    """Settings refuse a Sentinel URL under REDIS_CLUSTER=true, naming the variable."""
    monkeypatch.chdir(tmp_path)
    for name, value in {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                        "ENCRYPTION_KEYS": TEST_KEYS, "REDIS_CLUSTER": "true",
                        "REDIS_URL": f"redis+sentinel://:{QUOTED}@s1/m"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith("REDIS_URL with REDIS_CLUSTER=true")
    assert "hunter2" not in str(caught.value)
    monkeypatch.setenv("REDIS_URL", "redis://n1:7000")
    assert load_settings().redis_cluster


@pytest.mark.parametrize("command", [[], ["admin", "stats"]])
def test_bad_url_stops_the_bot_with_status_2(tmp_path, command):
    """`python -m bot` (and its tools) with a bad REDIS_URL exit 2 with one line."""
    url = f"redis+sentinel://:{QUOTED}@s1:26379,s2:bad/mymaster"
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command], capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
             "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ENCRYPTION_KEYS": TEST_KEYS,
             "REDIS_URL": url}, timeout=30, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "REDIS_URL has a bad port" in lines[0]
    assert "hunter2" not in done.stderr + done.stdout


async def test_every_mode_is_bounded_with_two_second_timeouts(tmp_path):
    """One server, TLS, a socket, Sentinel and Cluster all get a pool that waits for a
    free connection (at most MAX_CONNECTIONS) and 2 s socket timeouts."""
    (tmp_path / "ca.pem").write_text("x")
    servers = {
        "redis://h:1/0": Connection,
        f"rediss://h:1/0?ssl_ca_certs={tmp_path}/ca.pem": SSLConnection,
        "unix:///tmp/redis.sock": UnixDomainSocketConnection,
    }
    for url, connection_class in servers.items():
        client = connect(url)
        pool = client.connection_pool
        assert (pool.max_connections, pool.timeout) == (MAX_CONNECTIONS, TIMEOUT_SECONDS)
        assert pool.connection_kwargs["socket_timeout"] == TIMEOUT_SECONDS
        assert pool.connection_kwargs["socket_connect_timeout"] == TIMEOUT_SECONDS
        # redis-py's kind of connection, sending without a task per command
        assert issubclass(pool.connection_class, connection_class)
        assert issubclass(pool.connection_class, _DirectSend)
        await client.aclose()

    sentinel = connect("redis+sentinel://s1,s2/mymaster")
    assert isinstance(sentinel, SentinelMasterRedis)
    pool = sentinel.connection_pool
    assert isinstance(pool, BlockingSentinelPool)
    assert (pool.max_connections, pool.timeout) == (MAX_CONNECTIONS, TIMEOUT_SECONDS)
    assert pool.connection_kwargs["socket_timeout"] == TIMEOUT_SECONDS
    for each in pool.sentinel_manager.sentinels:
        assert each.connection_pool.connection_kwargs["socket_timeout"] == TIMEOUT_SECONDS
    await sentinel.aclose()

    cluster = connect("redis+cluster://n1:7000,n2:7001")
    assert isinstance(cluster, BoundedRedisCluster)
    node = cluster.nodes_manager.startup_nodes["n1:7000"]
    assert node.max_connections == MAX_CONNECTIONS
    assert node.connection_kwargs["socket_timeout"] == TIMEOUT_SECONDS
    assert node.connection_kwargs["socket_connect_timeout"] == TIMEOUT_SECONDS
    await cluster.aclose()
