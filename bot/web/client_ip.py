"""Who sent a web request, as far as we can tell: the client's address and a shortened
user agent, for rate limits and audit events (a `WebClient`).

The address is the socket's peer. `X-Forwarded-For` is believed only when that peer is one
of TRUSTED_PROXIES: anyone else could write any address in it. Each proxy appends the
address it was reached from, so the list is read from the right, skipping our own proxies;
the first address that is not one of them is the client (anything left of it is what the
client claimed, and is ignored).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.secrets.external import WebClient
from bot.web.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"  # no peer address (a Unix socket): what audit lines then say
MAX_USER_AGENT_CHARS = 120


def web_client(scope: Mapping[str, Any], trusted: Sequence[Network]) -> WebClient:
    """The WebClient of an ASGI HTTP request."""
    peer = scope.get("client")
    forwarded: list[str] = []
    agent = None
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == b"user-agent":
            agent = value.decode("latin-1")
    ip = client_ip(peer[0] if peer else None, forwarded, trusted)
    return WebClient(ip=ip, user_agent=short_user_agent(agent))


def client_ip(peer: str | None, forwarded_for: Iterable[str],
              trusted: Sequence[Network]) -> str:
    """The client's address: `peer`, or from X-Forwarded-For (every header's value, in
    order) when `peer` is a trusted proxy."""
    address = _address(peer) if peer else None
    if address is None:
        return UNKNOWN
    if not _is_trusted(address, trusted):
        return str(address)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        previous = _address(hop)
        if previous is None:
            break  # a proxy of ours wrote something unreadable: go no further than it
        address = previous
        if not _is_trusted(address, trusted):
            break
    return str(address)


def short_user_agent(agent: str | None) -> str | None:
    """A user agent fit for an audit line: no control or format characters, spaces
    collapsed, at most MAX_USER_AGENT_CHARS; None when nothing is left."""
    if not agent:
        return None
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in agent)
    text = " ".join(kept.split())
    if len(text) > MAX_USER_AGENT_CHARS:
        text = text[:MAX_USER_AGENT_CHARS - 1].rstrip() + "…"
    return text or None


def _address(text: str) -> Address | None:
    """An address as proxies write it: bare, or with a port (`1.2.3.4:80`, `[::1]:80`)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the networks say a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network
               for network in trusted)
