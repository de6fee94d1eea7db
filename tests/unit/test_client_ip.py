"""The client's address: the socket's peer, or X-Forwarded-For only behind a trusted
proxy, read from the right; the user agent shortened for audit lines."""

from __future__ import annotations

import ipaddress

import pytest

from bot.web.client_ip import MAX_USER_AGENT_CHARS, UNKNOWN, client_ip, short_user_agent, web_client

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    # No trusted proxy in the way: the peer, whatever the header claims.
    ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
    ("203.0.113.7", [], "203.0.113.7"),
    # Behind a trusted proxy: the right-most address that is not one of ours.
    ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
    ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the left one is a claim
    ("10.0.0.2", ["198.51.100.1, 10.1.1.1"], "198.51.100.1"),  # two proxies of ours
    ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.1.1.1"], "198.51.100.1"),  # several headers
    ("10.0.0.2", ["10.3.3.3, 10.1.1.1"], "10.3.3.3"),  # only proxies: the furthest
    ("10.0.0.2", [], "10.0.0.2"),  # the proxy said nothing: the proxy
    ("10.0.0.2", ["garbage, 198.51.100.1"], "198.51.100.1"),
    ("10.0.0.2", ["198.51.100.1, garbage"], "10.0.0.2"),  # no further than the unreadable
    # Ports and brackets as some proxies write them; IPv6; IPv4 mapped into IPv6.
    ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
    ("10.0.0.2", ["[2001:db9::5]:443"], "2001:db9::5"),
    ("2001:db8::1", ["2001:db9::5"], "2001:db9::5"),
    ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
    ("::ffff:203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
    # No peer address at all (a Unix socket).
    (None, ["198.51.100.1"], UNKNOWN),
])
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_web_client_reads_the_scope():
    scope = {"client": ("10.0.0.2", 5555), "headers": [
        (b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.1"),
        (b"user-agent", b"Mozilla/5.0 (X11)")]}
    client = web_client(scope, PROXIES)
    assert (client.ip, client.user_agent) == ("198.51.100.1", "Mozilla/5.0 (X11)")
    assert web_client({"client": None, "headers": []}, PROXIES).user_agent is None


def test_user_agent_is_shortened_and_cleaned():
    assert short_user_agent(None) is None
    assert short_user_agent(" \x00\t ") is None
    assert short_user_agent("evil\r\nX-Injected: 1\x1b[31m\u202e") == "evil X-Injected: 1 [31m"
    long = short_user_agent("A" * 500)
    assert long is not None
    assert len(long) == MAX_USER_AGENT_CHARS
    assert long.endswith("…")
