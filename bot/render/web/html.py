"""The pages of external secrets as HTML, from the Jinja2 templates beside this module
(autoescaped: a label or a name is text, never markup), and the one script and one
stylesheet they load (no inline script or style: the Content-Security-Policy forbids it)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.domain import MAX_PASSPHRASE_CHARS, Audience
from bot.render.blocks import in_words
from bot.secrets.external import PageInfo

# The files under static/ that are served, with their content types: nothing else is.
ASSETS = {
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}

# What the script says by itself (data-text-* attributes of the page; the answers of the
# server carry their own wording, from bot.render.web.answers).
SCRIPT_TEXTS = {
    "working": "Just a moment…",
    "copied": "Copied to the clipboard.",
    "copy-failed": "Copying did not work in this browser. The text is selected: copy it "
                   "with your keyboard or the menu.",
    "network": "The server could not be reached. Nothing was used: check your connection "
               "and try again.",
    "no-key": "This link is incomplete: the part after # is missing. Nothing was used: "
              "open the full link again from the message or email you received.",
    "email-format": "Type the email address the secret was shared with.",
    "code-format": "The code is 6 to 8 digits, as in the email.",
    "resend": "Email me a new code",
    "gone-title": "No longer available · Share-secret",
}


@functools.cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("bot.render.web"),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


@functools.cache
def asset(name: str) -> bytes:
    """One of ASSETS, as served."""
    if name not in ASSETS:
        raise KeyError(name)
    return resources.files("bot.render.web").joinpath("static", name).read_bytes()


def secret_page(info: PageInfo, *, base: str, secret_id: str, now: float,
                preview: bool) -> str:
    """The inert page of a secret that can be opened: who shared it, its label, when it
    expires, and the Reveal form (an email and a code first for an email secret; a
    passphrase when it has one). `base`: PUBLIC_URL's path. `preview`: for a link
    previewer, the same page with a neutral title and neither sender nor label."""
    heading = ("A secret was shared with you" if preview
               else f"{info.sender_name} shared a secret with you")
    expires = datetime.fromtimestamp(info.expires_at, UTC)
    left = info.expires_at - now
    return _templates().get_template("secret.html").render(
        title=heading, heading=heading, static=f"{base}/static",
        reveal_url=f"{base}/s/{secret_id}/reveal", code_url=f"{base}/s/{secret_id}/code",
        audience=info.audience.value, email=info.audience is Audience.EMAIL,
        sender_name=None if preview else info.sender_name,
        workspace_name=None if preview else info.workspace_name,
        label=None if preview else info.label,
        expires_words=f"in {in_words(left)}",
        expires_iso=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        expires_text=f"{expires.day} {expires:%B %Y, %H:%M} UTC",
        has_passphrase=info.has_passphrase, max_passphrase=MAX_PASSPHRASE_CHARS,
        texts=SCRIPT_TEXTS)


def gone_page(*, base: str) -> str:
    """The one page for every secret that cannot be opened: unknown, used up, expired,
    revoked, or a malformed address. It names nothing, so all of them look the same."""
    return _templates().get_template("gone.html").render(
        title="No longer available", static=f"{base}/static")


def busy_page(*, base: str) -> str:
    """The page when our storage is not answering (nothing was used)."""
    return _templates().get_template("busy.html").render(
        title="Please try again shortly", static=f"{base}/static")
