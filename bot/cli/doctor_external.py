"""doctor's checks of sharing outside Slack: PUBLIC_URL reaches this bot's pages, and
SMTP_URL's server answers a real handshake."""

from __future__ import annotations

import aiohttp

from bot.cli.verdicts import TIMEOUT_SECONDS, Status, Verdict
from bot.config import Settings
from bot.errors import MailUnavailable
from bot.web.headers import CONTENT_SECURITY_POLICY

# A page that is ours whatever PUBLIC_URL's prefix: an unknown secret's "no longer
# available" page, which reads nothing and changes nothing.
PROBE_PATH = "/s/doctor-probe"


async def public_url_check(settings: Settings) -> Verdict:
    """PUBLIC_URL answers with the bot's page and headers (the bot must be running)."""
    url = settings.public_url
    if url is None:
        return Verdict("public url", Status.OK, "not configured (PUBLIC_URL unset): only "
                       "people in the workspace can be chosen")
    local = (settings.public_origin or "").split("://", 1)[-1].startswith(
        ("localhost", "127.", "[::1]"))
    probe = url + PROBE_PATH
    try:
        async with aiohttp.ClientSession() as session, session.get(
                probe, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as answer:
            csp = answer.headers.get("content-security-policy")
            status = answer.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Verdict("public url", Status.WARN, f"{url} did not answer "
                       f"({type(exc).__name__})", "start the bot behind PUBLIC_URL, then run "
                       "doctor again: people outside Slack open their links there")
    if status != 404 or csp != CONTENT_SECURITY_POLICY:
        return Verdict("public url", Status.FAIL, f"{probe} answered {status} without "
                       "share-secret's page headers", "point PUBLIC_URL at this bot, through "
                       "a proxy that passes its paths and headers unchanged")
    if url.startswith("http://") and not local:
        return Verdict("public url", Status.WARN, f"{url} serves the pages over plain HTTP",
                       "use https:// so that links and secrets are not sent in the clear")
    return Verdict("public url", Status.OK, f"{url} serves share-secret's pages")


async def smtp_check(settings: Settings) -> Verdict:
    """A real handshake with SMTP_URL's server: EHLO, STARTTLS when offered, the login."""
    from bot.mail import MailSender

    endpoint = settings.smtp
    if endpoint is None:
        return Verdict("smtp", Status.OK, "not configured (SMTP_URL unset): no mail is sent, "
                       "so recipients by email address are not offered")
    try:
        handshake = await MailSender(endpoint, timeout=TIMEOUT_SECONDS).check()
    except MailUnavailable as exc:
        return Verdict("smtp", Status.FAIL, str(exc),
                       "check SMTP_URL (host, port, user and password; smtps:// for TLS from "
                       "the start) and that the server takes connections from this host")
    how = ", ".join(["TLS" if handshake.tls else "no TLS",
                     f"logged in as {endpoint.username}" if handshake.logged_in
                     else "no login"])
    detail = f"{handshake.address} answered ({how}); mail from {settings.mail_from}"
    if not handshake.tls:
        return Verdict("smtp", Status.WARN, detail,
                       "the links mailed cross the network in the clear: use a server that "
                       "offers STARTTLS, or smtps://")
    return Verdict("smtp", Status.OK, detail)


