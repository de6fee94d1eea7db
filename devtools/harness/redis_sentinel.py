"""A real Redis Sentinel set-up: one master, one replica and three Sentinels (quorum 2),
all `redis-server` processes in a temp dir, torn down afterwards.

    with LocalSentinel() as setup:
        setup.url              # redis+sentinel://127.0.0.1:s1,...,127.0.0.1:s3/mymaster
        setup.failover()       # SENTINEL FAILOVER; returns once every Sentinel names the
                               # new master and it accepts writes
        setup.master_client()  # a synchronous client of the current master
"""

from __future__ import annotations

from pathlib import Path

import redis

from devtools.harness.redis_nodes import RedisNode, RedisSetup, RedisSetupError, wait_until

SERVICE = "mymaster"


class LocalSentinel(RedisSetup):
    """A master, `replicas` replicas and `sentinels` Sentinels watching them."""

    temp_prefix = "share-secret-sentinel-"

    def __init__(self, *, replicas: int = 1, sentinels: int = 3,
                 service: str = SERVICE) -> None:
        super().__init__()
        self.service = service
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.data_nodes: list[RedisNode] = []
        self.sentinels: list[RedisNode] = []

    @property
    def url(self) -> str:
        """REDIS_URL for the bot: every Sentinel, then the master's name."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}"

    def _start_in(self, root: Path) -> None:
        master = RedisNode(root / "master").start()
        self.data_nodes.append(master)
        for index in range(self.replica_count):
            self.data_nodes.append(RedisNode(root / f"replica{index}", args=[
                "--replicaof", "127.0.0.1", str(master.port)]).start())
        quorum = self.sentinel_count // 2 + 1
        for index in range(self.sentinel_count):
            config = (f"sentinel monitor {self.service} 127.0.0.1 {master.port} {quorum}\n"
                      f"sentinel down-after-milliseconds {self.service} 1000\n"
                      f"sentinel failover-timeout {self.service} 4000\n"
                      f"sentinel parallel-syncs {self.service} 1\n")
            self.sentinels.append(RedisNode(root / f"sentinel{index}", config=config,
                                            sentinel=True).start())
        for sentinel in self.sentinels:
            wait_until(lambda s=sentinel: self._sees_everyone(s), timeout=30,
                       what=f"Sentinel {sentinel.port} to see the replicas and its peers")

    def _sees_everyone(self, sentinel: RedisNode) -> bool:
        with sentinel.client(decode_responses=True) as client:
            master = client.execute_command("SENTINEL", "MASTER", self.service)
            state = dict(zip(master[::2], master[1::2], strict=True)) \
                if isinstance(master, list) else master
            return (int(state["num-slaves"]) == self.replica_count
                    and int(state["num-other-sentinels"]) == self.sentinel_count - 1)

    def master_port(self, sentinel: RedisNode | None = None) -> int:
        """The master's port, as a Sentinel names it now."""
        with (sentinel or self.sentinels[0]).client(decode_responses=True) as client:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                             self.service)
        return int(port)

    def master_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.master_port(), socket_timeout=5)

    def flush(self) -> None:
        with self.master_client() as client:
            client.flushall()

    def failover(self, timeout: float = 30.0) -> int:
        """Promote a replica (SENTINEL FAILOVER) once it has everything the master has;
        return the new master's port once every Sentinel names it, it takes writes and
        the old master has become its replica (the failover is complete)."""
        old = self.master_port()
        with self.master_client() as client:
            synced = client.execute_command("WAIT", self.replica_count, 5000)
            if int(synced) < self.replica_count:
                raise RedisSetupError("the replicas did not catch up before the failover")
        with self.sentinels[0].client() as client:
            client.execute_command("SENTINEL", "FAILOVER", self.service)
        wait_until(lambda: all(self.master_port(s) != old for s in self.sentinels),
                   timeout=timeout, what="every Sentinel to name the new master")
        new = self.master_port()
        node = next(n for n in self.data_nodes if n.port == new)
        wait_until(lambda: _role(node) == "master", timeout=timeout,
                   what="the new master to take writes")
        demoted = next(n for n in self.data_nodes if n.port == old)
        wait_until(lambda: _role(demoted) == "slave", timeout=timeout,
                   what="the Sentinels to turn the old master into a replica")
        return new

    def _stop_processes(self) -> None:
        for node in [*self.sentinels, *self.data_nodes]:
            node.stop()
        self.sentinels, self.data_nodes = [], []


def _role(node: RedisNode) -> str:
    with node.client(decode_responses=True) as client:
        return str(client.execute_command("ROLE")[0])
