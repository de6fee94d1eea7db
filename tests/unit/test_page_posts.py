"""The reveal page's POST bodies: exactly what the page sends, or MalformedRequest naming
the field and never quoting a value."""

from __future__ import annotations

import json

import pytest

from bot.errors import MalformedRequest
from bot.web.page_posts import CodeAsk, RevealAsk, code_ask, reveal_ask

KEY = "A" * 43


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_a_reveal_with_every_field():
    ask = reveal_ask(body(key=KEY, email=" bob@vendor.example ", code="123456",
                          passphrase="blue-harbour-42"))
    assert ask == RevealAsk(link_key=KEY, email="bob@vendor.example", code="123456",
                            passphrase="blue-harbour-42")


def test_a_bare_reveal():
    assert reveal_ask(body(key=KEY)) == RevealAsk(link_key=KEY)
    assert reveal_ask(body(key=KEY, email="", code="", passphrase="")) == RevealAsk(KEY)
    assert reveal_ask(body()) == RevealAsk(link_key="")  # the route answers: incomplete link


def test_a_code_request():
    assert code_ask(body(key=KEY, email="bob@vendor.example")) == CodeAsk(
        link_key=KEY, email="bob@vendor.example")


@pytest.mark.parametrize("ask", [reveal_ask, code_ask])
def test_deeply_nested_json_is_refused_not_a_crash(ask):
    with pytest.raises(MalformedRequest) as refused:
        ask(b'{"key": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert str(refused.value) == "body: not JSON"


FIELDS = "body: fields other than code, email, key, passphrase, ticket"


@pytest.mark.parametrize(("raw", "named"), [
    (b"\xff\xfe", "body: not JSON"),
    (b"key=abc", "body: not JSON"),
    (b"[1, 2]", "body: must be a JSON object"),
    (body(key=KEY, extra="x"), FIELDS),
    (body(key=KEY, **{"123456": 1}), FIELDS),
    (body(key=KEY, ticket="short"), "ticket: not a code request's ticket"),
    (body(key=123), "key: must be a string"),
    (body(key=KEY, code="12345"), "code: must be 6 to 8 digits"),
    (body(key=KEY, code="123456789"), "code: must be 6 to 8 digits"),
    (body(key=KEY, code="12a456"), "code: must be 6 to 8 digits"),
    (body(key=KEY, passphrase="x" * 201), "passphrase: at most 200 characters"),
    (body(key=KEY, email="not-an-address"), "email: not an email address"),
    (body(key=KEY, email="a b@c.example"), "email: not an email address"),
    (body(key=KEY, email="x" * 250 + "@c.example"), "email: not an email address"),
])
def test_malformed_reveals(raw, named):
    with pytest.raises(MalformedRequest) as refused:
        reveal_ask(raw)
    assert str(refused.value) == named


@pytest.mark.parametrize(("raw", "named"), [
    (body(), "email: required"),
    (body(email="  "), "email: required"),
    (body(email="bob@vendor.example", key=KEY, code="123456"),
     "body: fields other than email, key"),
    (body(email=["bob@vendor.example"]), "email: must be a string"),
])
def test_malformed_code_requests(raw, named):
    with pytest.raises(MalformedRequest) as refused:
        code_ask(raw)
    assert str(refused.value) == named
