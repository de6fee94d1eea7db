"""bot.web.form_body: a body is read exactly as Bolt's `parse_body` reads it (the same
answer, or the same kind of error), whatever it holds; only faster for a payload."""

from __future__ import annotations

import json
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body as bolt_parse_body

from benchmarks import payloads
from bot.web.form_body import parse, parse_body

FORM = "application/x-www-form-urlencoded"


def outcome(parse, body: str, content_type: str | None):  # type: ignore[no-untyped-def]
    try:
        return "ok", parse(body, content_type)
    except ValueError as exc:
        return "error", type(exc)


def same_as_bolt(body: str, content_type: str | None = FORM) -> None:
    ours, bolts = outcome(parse_body, body, content_type), outcome(bolt_parse_body, body,
                                                                    content_type)
    # NaN (json reads it) is the one value unequal to itself: compared as JSON text.
    assert json.dumps(ours, default=str) == json.dumps(bolts, default=str)


# Percent-encoding's pieces, right and wrong: escapes in both cases, broken ones, what
# quoted-printable reads otherwise (=, line breaks, _), non-ASCII, and plain text.
PIECES = st.one_of(
    st.sampled_from(["%22", "%7b", "%7B", "%7D", "%3A", "%2C", "%5C", "%25", "%2B", "+",
                     "%", "%Z", "%4", "%e2%9c%85", "%C3", "%ED%A0%80", "=", "%3D", "&",
                     "\n", "\r", "\t", " ", "_", "é", "\u2603", '"', "{", "}", "payload"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8))


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=40))
def test_any_payload_is_read_as_bolt_reads_it(pieces):
    same_as_bolt("payload=" + "".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20))
def test_any_json_payload_round_trips(value):
    """Whatever JSON a payload carries (encoded as Slack does) is read back whole."""
    body = urlencode({"payload": json.dumps(value)})
    assert parse_body(body, FORM) == bolt_parse_body(body, FORM) == value


@pytest.mark.parametrize("body", [
    "", "payload=", "payload=%7B%7D", "payload=%7B%7D&x=1", "x=1&payload=%7B%7D",
    "payload=%7B%22a%22%3A%22b%3Dc%22%7D", "payload={\"a\":1}", "{\"payload\":1}",
    "payload=%7B%22a%22%3A%221%2B1%22%7D", "payload=%7B%22a%22%3A+%22x+y%22%7D",
    "command=%2Fshare-secret&text=%40alice", "payload=%5B1%2C2%5D", "payload=%7B%22a%22%3A"])
def test_edge_bodies(body):
    same_as_bolt(body)
    same_as_bolt(body, "application/json")
    same_as_bolt(body, None)


def test_slacks_payloads_take_the_quick_way(monkeypatch):
    """A click's and a share form's bodies, as Slack sends them, are decoded here (the
    standard library's percent-decoding was the largest single cost of a share: about
    270 µs of its 11 KB); how much that saves is the benchmark's to measure."""
    import bot.web.form_body

    def not_here(body, content_type):  # type: ignore[no-untyped-def]
        raise AssertionError("left to Bolt")

    bodies = [payloads.share_submission(team_id="T0ACME", channel="C0GENERAL"),
              payloads.reveal_click(team_id="T0ACME", channel="C0GENERAL")]
    expected = [bolt_parse_body(body, FORM) for body in bodies]
    monkeypatch.setattr(bot.web.form_body, "bolt_parse_body", not_here)
    assert [parse_body(body, FORM) for body in bodies] == expected


def test_a_quoted_value_with_every_ascii_character_is_decoded():
    text = "".join(chr(c) for c in range(128))
    body = "payload=" + quote_plus(json.dumps({"text": text}))
    assert parse_body(body, FORM) == {"text": text}


STRINGS = st.text(alphabet=st.sampled_from(["a", "é", "\\", "\n", '"', "/", "\ud800", "\udfff",
                                            "\ud83d", "\ude00", "\U0001f4a3", "u", "d"]),
                  max_size=6)


@settings(max_examples=400, deadline=None)
@given(st.recursive(STRINGS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(STRINGS, inner, max_size=3), max_leaves=10),
       st.sampled_from([FORM, "application/json"]))
def test_a_lone_surrogate_is_never_missed(value, content_type):
    """`maybe_surrogates` is False only for bodies with no lone surrogate in them, so the
    check it lets bot.web.inbound skip would have found nothing."""
    text = json.dumps({"payload": value})
    body = text if content_type == "application/json" else urlencode({"payload": text})
    parsed = parse(body, content_type)

    def lone(item) -> bool:  # type: ignore[no-untyped-def]
        if isinstance(item, str):
            return any("\ud800" <= ch <= "\udfff" for ch in item)
        if isinstance(item, dict):
            return any(lone(k) or lone(v) for k, v in item.items())
        return isinstance(item, list) and any(lone(v) for v in item)

    if lone(parsed.body):
        assert parsed.maybe_surrogates


def test_only_a_surrogate_escape_sends_the_body_to_the_slow_check():
    """A share form with line breaks and slashes in it (escaped in its JSON) is not
    walked again; one with a surrogate's escape is."""
    plain = urlencode({"payload": json.dumps({"text": "a\nb/c \\ d \u00e9"})})
    assert not parse(plain, FORM).maybe_surrogates
    pair = urlencode({"payload": json.dumps({"text": "\U0001f4a3"})})  # \ud83d\udca3
    assert parse(pair, FORM).maybe_surrogates
