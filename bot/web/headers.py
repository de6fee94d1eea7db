"""The security headers, set on every response of the app in this one place.

The pages that open secrets are the reason: nothing may frame them, load anything from
elsewhere, cache them, index them, or leak their address in a Referer. The same headers
cost the other routes nothing, so they carry them too; only the OAuth install pages,
which are Bolt's (an inline style and Slack's "Add to Slack" image), go without the
Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HSTS = "max-age=31536000"  # a year; subdomains are the operator's to decide

_COMMON = (
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-robots-tag", b"noindex, nofollow"),
)


class SecurityHeaders:
    """Adds the headers to each response start, replacing any of the same name."""

    def __init__(self, *, https: bool) -> None:
        """`https`: the pages are served over https (PUBLIC_URL says so), so browsers are
        told to keep to it (HSTS)."""
        self._headers = _COMMON + (((b"strict-transport-security", HSTS.encode()),)
                                   if https else ())
        self._with_csp = (*self._headers,
                          (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))

    def wrap(self, send: Send, *, csp: bool = True) -> Send:
        """`send`, with the headers added to its response (`csp`: the policy too; off
        only for pages that are not ours)."""
        added = self._with_csp if csp else self._headers
        names = {name for name, _ in added}

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                message = {**message, "headers": [*kept, *added]}
            await send(message)
        return secured
