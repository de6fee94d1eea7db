"""A redis-server that speaks only TLS, with a throwaway CA, server and client
certificates made here (cryptography), and client certificates required.

    with TlsRedis() as server:
        server.url                 # rediss://127.0.0.1:port/0?ssl_ca_certs=...&ssl_certfile=...
        server.url_with(ca=False)  # the same without the CA (or the client certificate)
        server.client()            # a synchronous TLS client

`tls_unsupported()` says why this machine's redis-server cannot serve TLS, or None.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devtools.harness.redis_nodes import RedisNode, RedisSetup, RedisSetupError, free_port


@dataclass(frozen=True)
class Certificates:
    """PEM files: a CA, a server certificate for 127.0.0.1/localhost, a client one."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certificates(directory: Path, *, name: str = "share-secret test") -> Certificates:
    """A fresh CA and the server and client certificates it signs, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False),
                   critical=True)
               .sign(ca_key, hashes.SHA256()))

    def leaf(common_name: str, usage: x509.ObjectIdentifier,
             sans: list[x509.GeneralName]) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               common_name)]))
                   .issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

    server_pem, server_key = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    client_pem, client_key = leaf("share-secret bot", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    files = Certificates(ca=directory / "ca.pem", server_cert=directory / "server.pem",
                         server_key=directory / "server.key",
                         client_cert=directory / "client.pem",
                         client_key=directory / "client.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_pem)
    files.server_key.write_bytes(server_key)
    files.client_cert.write_bytes(client_pem)
    files.client_key.write_bytes(client_key)
    return files


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
