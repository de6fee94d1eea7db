"""The web pages of external secrets (PUBLIC_URL/s/<id>): the HTML, the script and the
stylesheet, and the wording of the answers the script shows.

    html.py       the pages, rendered from templates/ (Jinja2, autoescaped); static/
    answers.py    the `message` of each JSON answer to the page's POSTs
"""

from bot.render.web.answers import (
    BAD_REQUEST,
    BUSY,
    CROSS_ORIGIN,
    INCOMPLETE_LINK,
    code_message,
    reveal_message,
)
from bot.render.web.html import ASSETS, asset, busy_page, gone_page, secret_page

__all__ = [
    "ASSETS",
    "BAD_REQUEST",
    "BUSY",
    "CROSS_ORIGIN",
    "INCOMPLETE_LINK",
    "asset",
    "busy_page",
    "code_message",
    "gone_page",
    "reveal_message",
    "secret_page",
]
