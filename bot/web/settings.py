"""The web pages' settings (PUBLIC_URL, TRUSTED_PROXIES), part of bot.config.Settings."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(BaseSettings):
    # People outside Slack open their secrets at PUBLIC_URL/s/<id>; unset, only workspace
    # members can be chosen.
    public_url: str | None = None
    # Proxies whose X-Forwarded-For the pages believe about the client's address.
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        try:
            port_ok = parts.port != 0  # raises for one that is not a number up to 65535
        except ValueError:
            port_ok = False
        if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok \
                or parts.username is not None or any(c in value for c in "?# \t"):
            raise ValueError("must be an http(s) address such as https://secrets.example.com "
                             "(a path prefix may follow; no query, fragment or user)")
        # The pages' paths are joined onto it: PUBLIC_URL/s/<id>.
        return value.rstrip("/")

    @property
    def public_origin(self) -> str | None:
        """PUBLIC_URL's origin, as browsers send it in `Origin`: scheme://host[:port],
        lower case, without the scheme's default port."""
        if self.public_url is None:
            return None
        return origin_of(self.public_url)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        try:
            # A bare address is a network of one; host bits are forgiven (10.1.2.3/8).
            return tuple(ipaddress.ip_network(v, strict=False) for v in value)
        except ValueError:
            raise ValueError("must be comma-separated addresses or CIDR networks such as "
                             "10.0.0.0/8,2001:db8::/32") from None


def origin_of(url: str) -> str:
    """The origin of an http(s) URL: scheme://host[:port], lower case, without the
    scheme's default port (what a browser sends as `Origin`)."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")
