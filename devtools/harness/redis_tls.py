"""A redis-server that speaks only TLS, with a throwaway CA, server and client
certificates made here (cryptography), and client certificates required.

    with TlsRedis() as server:
        server.url                 # rediss://127.0.0.1:port/0?ssl_ca_certs=...&ssl_certfile=...
        server.url_with(ca=False)  # the same without the CA (or the client certificate)
        server.client()            # a synchronous TLS client

`tls_unsupported()` says why this machine's redis-server cannot serve TLS, or None.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import redis

from devtools.harness.certificates import Certificates, make_certificates
from devtools.harness.redis_nodes import RedisNode, RedisSetup, RedisSetupError, free_port


def tls_unsupported() -> str | None:
    """None when this machine's redis-server serves TLS (tried for real); otherwise what
    went wrong, from its log (builds without TLS refuse the tls-* options)."""
    try:
        with TlsRedis():
            return None
    except RedisSetupError as exc:
        return f"redis-server cannot serve TLS here: {str(exc).splitlines()[-1]}"


class TlsRedis(RedisSetup):
    """redis-server with `--port 0 --tls-port P`, requiring client certificates."""

    temp_prefix = "share-secret-tls-"

    def __init__(self, *, password: str | None = None) -> None:
        super().__init__()
        self.password = password
        self.node: RedisNode | None = None
        self.certs: Certificates | None = None

    def _start_in(self, root: Path) -> None:
        self.certs = make_certificates(root)
        port = free_port()
        self.node = RedisNode(root / "server", port=port, ping=lambda _node: self._ping(),
                              args=["--port", "0", "--tls-port", str(port),
                                    "--tls-cert-file", str(self.certs.server_cert),
                                    "--tls-key-file", str(self.certs.server_key),
                                    "--tls-ca-cert-file", str(self.certs.ca),
                                    "--tls-auth-clients", "yes",
                                    *(["--requirepass", self.password] if self.password else [])])
        self.node.start()

    @property
    def port(self) -> int:
        assert self.node is not None
        return self.node.port

    @property
    def url(self) -> str:
        """REDIS_URL for the bot (the CA and client certificate in its query)."""
        return self.url_with()

    def url_with(self, *, ca: bool = True, client_cert: bool = True) -> str:
        """REDIS_URL with or without the CA and the client certificate."""
        assert self.certs is not None
        query = {}
        if ca:
            query["ssl_ca_certs"] = str(self.certs.ca)
        if client_cert:
            query.update(ssl_certfile=str(self.certs.client_cert),
                         ssl_keyfile=str(self.certs.client_key))
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return (f"rediss://{auth}127.0.0.1:{self.port}/0"
                + (f"?{urlencode(query)}" if query else ""))

    def client(self) -> redis.Redis:
        assert self.certs is not None
        return redis.Redis(host="127.0.0.1", port=self.port, ssl=True,
                           ssl_ca_certs=str(self.certs.ca),
                           ssl_certfile=str(self.certs.client_cert),
                           ssl_keyfile=str(self.certs.client_key), socket_timeout=5,
                           password=self.password)

    def _ping(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()

    def _stop_processes(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
