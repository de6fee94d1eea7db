"""SMTP_URL: where the bot hands its mail over, and how.

    smtp://[user:pass@]host[:port]     port 587; STARTTLS whenever the server offers it
    smtps://[user:pass@]host[:port]    port 465; TLS from the first byte

The user and password are URL-decoded (write `@` as `%40`, `:` as `%3A`). Errors never quote
the URL, which may carry the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpEndpoint:
    """A parsed SMTP_URL. `password` stays out of repr (and so out of logs and tracebacks)."""

    host: str
    port: int
    implicit_tls: bool  # smtps://; else STARTTLS when the server offers it
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """host:port, for messages (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """The endpoint SMTP_URL names; ValueError saying what is wrong, never quoting it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// (STARTTLS when offered) or smtps:// "
                         "(implicit TLS)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError("must be smtp[s]://[user:password@]host[:port] with nothing after "
                         "the port (no path or query)")
    host = parts.hostname
    if not host:
        raise ValueError("must name the mail server's host, as in smtp://smtp.example.com")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        # urlsplit's own message quotes the port as typed.
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise ValueError("has a port that is not a number from 1 to 65535")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None) or password == "":
        raise ValueError("has a user without a password, or a password without a user: give "
                         "both, as smtp://user:password@host, or neither")
    return SmtpEndpoint(host=host, port=port, implicit_tls=scheme == "smtps",
                        username=username, password=password)
