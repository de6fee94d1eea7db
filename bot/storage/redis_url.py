"""`REDIS_URL` read into a description of where Redis is: one server, Sentinel or Cluster.

    redis://[[user]:password@]host[:port][/db]          one server (rediss:// for TLS)
    unix://[[user]:password@]/path/to/redis.sock[?db=N] one server on a local socket
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
    redis+cluster://[[user]:password@]host[:port][,host[:port]...]
    (rediss+sentinel:// and rediss+cluster:// for TLS; REDIS_CLUSTER=true also turns a
    redis:// or rediss:// URL into the seed node of a Cluster)

TLS options go in the query, named as redis-py names them: `ssl_ca_certs`,
`ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs` (required | optional | none),
`ssl_check_hostname` (true | false). A Sentinel that wants a password of its own takes
`sentinel_password` (and `sentinel_username`). Nothing else is accepted: timeouts and
pool sizes are the bot's own, so a URL cannot undo them.

Errors are ValueErrors whose message never quotes the URL (it may carry a password).
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379

SCHEMES = ("redis://, rediss://, unix://, redis+sentinel://, rediss+sentinel://, "
           "redis+cluster:// or rediss+cluster://")
_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs",
                "ssl_check_hostname")
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
_CERT_REQS = ("required", "optional", "none")
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_OPTION_NAME = re.compile(r"^[a-z_]{1,32}$")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RedisMode(enum.Enum):
    SERVER = "server"
    SENTINEL = "sentinel"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class Tls:
    """TLS settings, as redis-py's `ssl_*` arguments."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    cert_reqs: str = "required"
    check_hostname: bool = True

    def kwargs(self) -> dict[str, Any]:
        return {"ssl_ca_certs": self.ca_certs, "ssl_certfile": self.certfile,
                "ssl_keyfile": self.keyfile, "ssl_cert_reqs": self.cert_reqs,
                # Hostname checks need verification: without it there is nothing to check.
                "ssl_check_hostname": self.check_hostname and self.cert_reqs != "none"}


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is. `nodes` are the server, the Sentinels, or the Cluster's seeds."""

    mode: RedisMode
    nodes: tuple[tuple[str, int], ...] = ()
    unix_path: str | None = None
    db: int = 0
    service_name: str | None = None
    tls: Tls | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)

    def auth_kwargs(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password}


def parse_redis_url(url: str, *, cluster: bool = False) -> RedisTarget:
    """Read a REDIS_URL (and REDIS_CLUSTER); raise ValueError naming what is wrong."""
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    base, _, variant = scheme.partition("+")
    if not sep or base not in {"redis", "rediss", "unix"} or variant not in {
            "", "sentinel", "cluster"} or (base == "unix" and variant):
        raise ValueError(f"must start with {SCHEMES}")
    if cluster and (base == "unix" or variant == "sentinel"):
        raise ValueError("with REDIS_CLUSTER=true must be a redis://, rediss:// or "
                         "redis+cluster:// URL naming a Cluster node")
    mode = RedisMode.CLUSTER if cluster or variant == "cluster" else (
        RedisMode.SENTINEL if variant == "sentinel" else RedisMode.SERVER)
    parts = urlsplit("x" + url[len(scheme):])  # urlsplit knows nothing of "+" schemes
    if parts.fragment:
        raise ValueError("must not contain '#'")
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    query = _query(parts.query, tls=base == "rediss", mode=mode, unix=base == "unix")
    username, password = _credentials(userinfo) if at else (None, None)
    if base == "unix":
        if hostlist or not parts.path:
            raise ValueError("must be unix:///path/to/redis.sock (an absolute path)")
        return RedisTarget(RedisMode.SERVER, unix_path=unquote(parts.path),
                           db=_db(query.db or "0"), username=username, password=password)
    default_port = DEFAULT_SENTINEL_PORT if mode is RedisMode.SENTINEL else DEFAULT_PORT
    nodes = tuple(_node(item, default_port) for item in hostlist.split(","))
    path = [unquote(p) for p in parts.path.split("/") if p]
    service_name = None
    if mode is RedisMode.SENTINEL:
        if not path or not _SERVICE_NAME.fullmatch(path[0]) or len(path) > 2:
            raise ValueError("must name the Sentinel master: "
                             "redis+sentinel://host:26379[,host:26379...]/mymaster[/db]")
        service_name, path = path[0], path[1:]
    if len(path) > 1:
        raise ValueError("has a path Redis does not understand (only a database number)")
    db = _db(path[0]) if path else 0
    if mode is RedisMode.CLUSTER and db != 0:
        raise ValueError("names a database other than 0, and a Redis Cluster has only 0")
    if mode is RedisMode.SERVER and len(nodes) > 1:
        raise ValueError("names several hosts: use redis+sentinel:// or redis+cluster://")
    return RedisTarget(mode, nodes, db=db, service_name=service_name, tls=query.tls,
                       username=username, password=password,
                       sentinel_username=query.sentinel_username,
                       sentinel_password=query.sentinel_password)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, colon, password = userinfo.partition(":")
    if not colon:
        # redis://secret@host: a lone word before @ is the password (requirepass).
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) or None


def _node(item: str, default_port: int) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError("has a malformed host (expected host:port)")
        port_text: str | None = rest[1:] if rest else None
    else:
        host, colon, after = item.partition(":")
        port_text = after if colon else None
    if not host or not re.match(r"^[A-Za-z0-9_.:%-]+$", host):
        raise ValueError("needs a host name (host:port, or several separated by commas "
                         "for Sentinel and Cluster)")
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError("has a bad port (expected host:port with a port from 1 to 65535)")
    return host, int(port_text)


def _db(text: str) -> int:
    if not text.isdigit() or len(text) > 5:
        raise ValueError("has a bad database number (expected /0, /1, ...)")
    return int(text)


class _Query(NamedTuple):
    db: str | None
    sentinel_username: str | None
    sentinel_password: str | None
    tls: Tls | None


def _query(query: str, *, tls: bool, mode: RedisMode, unix: bool) -> _Query:
    try:
        raw = {k: v[-1] for k, v in parse_qs(query, strict_parsing=bool(query)).items()}
    except ValueError:
        raise ValueError("has a malformed query string") from None
    allowed = {*_TLS_OPTIONS} if tls else set()
    if mode is RedisMode.SENTINEL:
        allowed |= {*_SENTINEL_OPTIONS}
    if unix:
        allowed.add("db")
    for name in raw:
        if name not in allowed:
            shown = f"'{name}'" if _OPTION_NAME.fullmatch(name) else "an option"
            if name in _TLS_OPTIONS:
                raise ValueError(f"has {shown}, which needs TLS: use rediss:// "
                                 "(or rediss+sentinel://, rediss+cluster://)")
            raise ValueError(f"has {shown} that is not supported (allowed: "
                             f"{', '.join(sorted(allowed)) or 'none for this scheme'})")
    return _Query(raw.get("db"), raw.get("sentinel_username"), raw.get("sentinel_password"),
                  _tls(raw) if tls else None)


def _tls(raw: dict[str, str]) -> Tls:
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if name in raw and not os.path.isfile(raw[name]):
            raise ValueError(f"names a {name} file that does not exist or is not a file")
    if "ssl_keyfile" in raw and "ssl_certfile" not in raw:
        raise ValueError("has ssl_keyfile without ssl_certfile (the client certificate)")
    reqs = raw.get("ssl_cert_reqs", "required").lower()
    if reqs not in _CERT_REQS:
        raise ValueError("has a bad ssl_cert_reqs (required, optional or none)")
    check = raw.get("ssl_check_hostname", "true").lower()
    if check not in _BOOLS:
        raise ValueError("has a bad ssl_check_hostname (true or false)")
    return Tls(ca_certs=raw.get("ssl_ca_certs"), certfile=raw.get("ssl_certfile"),
               keyfile=raw.get("ssl_keyfile"), cert_reqs=reqs, check_hostname=_BOOLS[check])
