"""The reveal pages' HTML: autoescaped, inert, neutral for previewers, and loading nothing
but the bot's own script and stylesheet."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.domain import Audience
from bot.render.web import ASSETS, asset, busy_page, gone_page, secret_page
from bot.secrets.external import PageInfo

NOW = 1_760_000_000.0
SECRET_ID = "ABCDEFGHJKMN" + "abcdefgh_-012345"
INFO = PageInfo(audience=Audience.LINK, sender_name="Alice Example", workspace_name="Acme",
                label="Staging DB", expires_at=NOW + 3 * 3600 + 30, has_passphrase=False)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text outside tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parsed(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


def page(info: PageInfo = INFO, *, preview: bool = False, base: str = "") -> str:
    return secret_page(info, base=base, secret_id=SECRET_ID, now=NOW, preview=preview)


def test_the_page_says_who_what_and_when():
    html = page()
    text = " ".join(" ".join(parsed(html).text).split())
    assert "Alice Example shared a secret with you" in text
    assert "Acme" in text
    assert "Staging DB" in text
    assert "It expires in 3 hours" in text
    times = parsed(html).named("time")
    assert times == [{"datetime": "2025-10-09T11:53:50Z"}]
    assert "9 October 2025, 11:53 UTC" in text
    noscript = html.partition("<noscript>")[2].partition("</noscript>")[0]
    assert "needs JavaScript" in noscript


def test_user_text_is_escaped_everywhere():
    hostile = PageInfo(audience=Audience.EMAIL, sender_name='Mallory "><img src=x>',
                       workspace_name="<b>Evil</b>", label="<script>alert(1)</script>",
                       expires_at=NOW + 60, has_passphrase=True)
    html = page(hostile)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for markup in ("<img", "<b>"):
        assert markup not in html
    # Only the one external script: nothing the label or the name could have added.
    assert [s.get("src") for s in parsed(html).named("script")] == ["/static/page.js"]


def test_no_inline_script_or_style_and_only_our_own_assets():
    for html in (page(), page(preview=True), gone_page(base=""), busy_page(base="")):
        elements = parsed(html)
        assert [s.get("src") for s in elements.named("script")] == ["/static/page.js"]
        assert [link.get("href") for link in elements.named("link")] == ["/static/page.css"]
        assert "<style" not in html
        assert not any("style" in attrs or any(a.startswith("on") for a in attrs)
                       for _, attrs in elements.tags)
        robots = [m for m in elements.named("meta") if m.get("name") == "robots"]
        assert robots == [{"name": "robots", "content": "noindex, nofollow"}]
        # No Open Graph or Twitter card: nothing for an unfurler to show.
        assert not re.search(r'property="og:|name="twitter:', html)


def test_previewers_get_a_neutral_page():
    html = page(preview=True)
    for leak in ("Alice", "Acme", "Staging DB"):
        assert leak not in html
    assert "<title>A secret was shared with you · Share-secret</title>" in html
    # ... which still works, should a person's browser be mistaken for a previewer.
    assert parsed(html).named("form")


def test_the_email_audience_asks_for_an_address_then_a_code():
    html = page(PageInfo(audience=Audience.EMAIL, sender_name="Alice", workspace_name="Acme",
                         label=None, expires_at=NOW + 600, has_passphrase=False))
    elements = parsed(html)
    inputs = {i["id"]: i for i in elements.named("input")}
    assert inputs["email"]["type"] == "email"
    code = inputs["code"]
    assert (code["inputmode"], code["autocomplete"], code["pattern"]) == (
        "numeric", "one-time-code", "[0-9]{6,8}")
    labels = {label["for"] for label in elements.named("label")}
    assert {"email", "code", "passphrase"} <= labels
    # No passphrase: its field is there (the service may still ask) but hidden.
    assert "hidden" in next(d for d in elements.named("div") if d.get("id") == "passphrase-field")
    main = elements.named("main")[0]
    assert main["data-code-url"] == f"/s/{SECRET_ID}/code"
    assert main["data-reveal-url"] == f"/s/{SECRET_ID}/reveal"


def test_a_link_secret_with_a_passphrase_asks_for_it():
    html = page(PageInfo(audience=Audience.LINK, sender_name="Alice", workspace_name="Acme",
                         label=None, expires_at=NOW + 600, has_passphrase=True),
                base="/share")
    elements = parsed(html)
    ids = {i["id"] for i in elements.named("input")}
    assert ids == {"passphrase"}
    assert "hidden" not in next(d for d in elements.named("div")
                                if d.get("id") == "passphrase-field")
    assert elements.named("main")[0]["data-reveal-url"] == f"/share/s/{SECRET_ID}/reveal"
    assert [s.get("src") for s in elements.named("script")] == ["/share/static/page.js"]
    assert [s.get("for") for s in elements.named("label")] == ["passphrase"]


def test_the_gone_page_names_nothing():
    html = gone_page(base="")
    assert "no longer available" in html
    assert SECRET_ID not in html
    assert gone_page(base="") == html  # one page for every case


@pytest.mark.parametrize(("name", "marker"), [("page.js", b"history.replaceState"),
                                             ("page.css", b"prefers-color-scheme")])
def test_the_assets(name, marker):
    assert name in ASSETS
    assert marker in asset(name)


def test_only_listed_assets():
    with pytest.raises(KeyError):
        asset("../html.py")
