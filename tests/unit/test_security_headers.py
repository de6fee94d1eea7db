"""The security headers are added to every response start, replacing a route's own."""

from __future__ import annotations

from bot.web.headers import CONTENT_SECURITY_POLICY, SecurityHeaders

EXPECTED_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                "connect-src 'self'; img-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'")


async def sent_headers(headers: SecurityHeaders, **options) -> dict[bytes, list[bytes]]:
    messages = []

    async def send(message):
        messages.append(message)

    secured = headers.wrap(send, **options)
    await secured({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/html"), (b"Cache-Control", b"max-age=600")]})
    await secured({"type": "http.response.body", "body": b"<p>hi</p>"})
    assert messages[1] == {"type": "http.response.body", "body": b"<p>hi</p>"}
    found: dict[bytes, list[bytes]] = {}
    for name, value in messages[0]["headers"]:
        found.setdefault(name.lower(), []).append(value)
    return found


async def test_every_header_once():
    found = await sent_headers(SecurityHeaders(https=True))
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    assert found == {
        b"content-type": [b"text/html"],
        b"cache-control": [b"no-store"],  # the route's own is replaced
        b"referrer-policy": [b"no-referrer"],
        b"x-content-type-options": [b"nosniff"],
        b"x-robots-tag": [b"noindex, nofollow"],
        b"strict-transport-security": [b"max-age=31536000"],
        b"content-security-policy": [EXPECTED_CSP.encode()],
    }


async def test_hsts_only_over_https_and_csp_can_be_left_off():
    plain = await sent_headers(SecurityHeaders(https=False))
    assert b"strict-transport-security" not in plain
    assert b"content-security-policy" in plain
    theirs = await sent_headers(SecurityHeaders(https=False), csp=False)
    assert b"content-security-policy" not in theirs
    assert theirs[b"x-content-type-options"] == [b"nosniff"]
