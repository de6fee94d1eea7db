"""A real Redis Cluster of `redis-server` processes (3 masters, no replicas by default),
made with `redis-cli --cluster create`, in a temp dir, torn down afterwards.

    with LocalRedisCluster() as cluster:
        cluster.url            # redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
        cluster.client()       # a synchronous redis.cluster.RedisCluster
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from redis.cluster import ClusterNode, RedisCluster

from devtools.harness.redis_nodes import (
    RedisNode,
    RedisSetup,
    RedisSetupError,
    free_port,
    wait_until,
)

SLOTS = 16384


class LocalRedisCluster(RedisSetup):
    """`masters` cluster-enabled redis-servers joined into one Cluster."""

    temp_prefix = "share-secret-cluster-"

    def __init__(self, masters: int = 3) -> None:
        if masters < 3:
            raise ValueError("redis-cli --cluster create needs at least 3 masters")
        super().__init__()
        self.masters = masters
        self.nodes: list[RedisNode] = []

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    @property
    def url(self) -> str:
        """REDIS_URL for the bot: every node as a seed."""
        return "redis+cluster://" + ",".join(self.addresses)

    def _start_in(self, root: Path) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RedisSetupError("redis-cli is not installed")
        for index in range(self.masters):
            # The bus port is set explicitly: port + 10000 may be beyond 65535.
            node = RedisNode(root / f"node{index}", args=[
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000", "--cluster-port", str(free_port())])
            self.nodes.append(node.start())
        created = subprocess.run(
            [cli, "--cluster", "create", *self.addresses, "--cluster-replicas", "0",
             "--cluster-yes"], capture_output=True, text=True, timeout=60, check=False)
        if created.returncode != 0:
            raise RedisSetupError(f"redis-cli --cluster create failed: "
                                  f"{created.stdout[-800:]}{created.stderr[-800:]}")
        for node in self.nodes:
            wait_until(lambda n=node: _cluster_ok(n), timeout=20,
                       what=f"cluster_state:ok on port {node.port}")

    def client(self) -> RedisCluster:
        """A synchronous cluster client (for checks and flushing)."""
        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in self.nodes],
                            socket_timeout=5)

    def flush(self) -> None:
        for node in self.nodes:
            with node.client() as client:
                client.flushall()

    def keys_per_node(self) -> dict[int, list[bytes]]:
        """Every key, by the port of the master that holds it."""
        found: dict[int, list[bytes]] = {}
        for node in self.nodes:
            with node.client() as client:
                found[node.port] = list(client.scan_iter(count=1000))
        return found

    def _stop_processes(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes = []


def _cluster_ok(node: RedisNode) -> bool:
    with node.client() as client:
        info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and f"cluster_slots_ok:{SLOTS}" in text
