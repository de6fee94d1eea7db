"""Hostile requests for property-based tests: Slack-shaped payloads, then broken.

Every strategy starts from a payload shaped as Slack builds it for one of the bot's
entry points (a Reveal click, a form submission, a command, an event), aimed at a
secret the sender may not touch, and then mutates it: keys deleted, values replaced by
other JSON types, huge strings, odd Unicode (lone surrogates, NUL, bidi overrides,
combining marks), unknown action and callback ids, unknown payload types. The body is
then encoded in one of the ways a client could send it (form, JSON, raw bytes, the
wrong content type).

Actors are never the sender or a recipient of the seeded secrets, so no request built
here may legitimately change anything but the audit log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

API_APP_ID = "A0SHARESECRET"
HOME_TEAM = "T0ACME"
OTHER_TEAM = "T0OTHER"

# Characters that break naive code: NUL, controls, bidi overrides, zero-width joiners,
# combining marks, a lone surrogate (valid in JSON as \ud800, not encodable as UTF-8),
# astral emoji, the BOM, separators that are line breaks to some parsers.
ODD = ["\x00", "\x1b", "\u202e", "\u200d", "\u0301", "\ud800", "\udfff", "\U0001f4a3",
       "\ufeff", "\u2028", "\u2029", "<@U0BOB>", "<!channel>", "%00", "\\", '"', "'",
       "{{", "${x}", "../", "\r\n", "ß", "İ", "ﬀ"]

odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=8)),
                    max_size=12).map("".join)
# Far past Slack's own limits (3,000 characters a text input), within the 512 KiB body.
huge_text = st.builds(lambda piece, n: piece * n, st.sampled_from(["A", "é", "\U0001f4a3", "-"]),
                      st.integers(min_value=3_001, max_value=12_000))
any_text = st.one_of(st.text(max_size=40), odd_text, huge_text)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False), any_text)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)

PAYLOAD_TYPES = ["block_actions", "view_submission", "view_closed", "shortcut",
                 "message_action", "block_suggestion", "interactive_message",
                 "dialog_submission", "dialog_suggestion", "workflow_step_edit",
                 "event_callback", "url_verification", "app_rate_limited", "", "BLOCK_ACTIONS"]
ACTION_IDS = ["reveal_secret", "reveal_with_passphrase", "revoke_secret", "answer_request",
              "open_share_form", "admin_revoke", "admin_filter_status", "admin_filter_sender",
              "admin_page", "admin_clear_filters", "unknown_action", ""]
CALLBACK_IDS = ["share_secret", "unlock_secret", "share_secret_shortcut", "nope", ""]


@dataclass(frozen=True)
class Targets:
    """What hostile requests aim at: real secret ids and people who may not use them."""

    secret_ids: tuple[str, ...]  # seeded secrets (of HOME_TEAM)
    outsiders: tuple[str, ...]  # members of HOME_TEAM who are neither sender nor recipient
    codes: tuple[str, ...]


def secret_ids(targets: Targets) -> st.SearchStrategy[Any]:
    """Values a button could carry: real ids, ids one character off, well-shaped ids of
    nothing, codes, junk, other JSON types."""
    real = st.sampled_from(targets.secret_ids)
    return st.one_of(
        real, real,
        st.builds(lambda s, i, c: s[:i % len(s)] + c + s[i % len(s) + 1:], real,
                  st.integers(min_value=0), st.sampled_from("AZ29-_x")),
        st.builds(lambda s: s[:12] + "A" * (len(s) - 12), real),
        st.sampled_from(targets.codes), json_values)


# Shaped like Slack ids, but nobody's: reach the handlers (junk ids are refused earlier).
slack_ids = st.from_regex(r"\A[UWT][A-Z0-9]{2,12}\Z").filter(
    lambda s: s not in {"U0ALICE", "U0BOB"})


def _mostly(usual: str, others: list[str]) -> st.SearchStrategy[str]:
    """`usual` four times in five, else one of `others` (an unknown type, say)."""
    return st.one_of(*[st.just(usual)] * 4, st.sampled_from(others))


# Ids that are not Slack-shaped are refused before any handler runs; they come from
# `mutated`, so that most requests get past that check and reach the handlers.
def _users(targets: Targets) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(targets.outsiders), slack_ids)


def _teams() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([HOME_TEAM, OTHER_TEAM]), slack_ids)


def _block_action(user: Any, team: Any, action: dict[str, Any], kind: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": kind, "user": {"id": user, "team_id": team}, "api_app_id": API_APP_ID,
        "team": {"id": team, "domain": "acme"}, "enterprise": None,
        "is_enterprise_install": False, "trigger_id": f"{time.time_ns()}.1.fuzz",
        "channel": {"id": "C0GENERAL"}, "container": {"type": "message"},
        "response_url": "http://127.0.0.1:9/nowhere", "state": {"values": {}},
        "actions": [action]}
    return payload


def clicks(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """block_actions on every button the bot draws (and some it never draws)."""
    action = st.fixed_dictionaries({
        "action_id": st.one_of(*[st.sampled_from(ACTION_IDS)] * 4, any_text),
        "block_id": st.one_of(st.sampled_from(["receipt", "status", "list", "reveal"]),
                              any_text),
        "type": st.sampled_from(["button", "static_select", "users_select", "overflow"]),
        "value": st.one_of(secret_ids(targets), st.builds(json.dumps, json_values)),
        "selected_user": _users(targets), "selected_option": json_values,
        "action_ts": st.just("1.0")})
    return st.builds(_block_action, _users(targets), _teams(), action,
                     _mostly("block_actions", PAYLOAD_TYPES))


def aimed_clicks(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """The clicks that matter most: Reveal, Revoke and admin Revoke on a real secret, by
    someone who may not (an outsider, or a member of another workspace)."""
    action = st.fixed_dictionaries({
        "action_id": st.sampled_from(["reveal_secret", "reveal_with_passphrase",
                                      "revoke_secret", "admin_revoke"]),
        "block_id": st.sampled_from(["receipt", "status", "list", "reveal"]),
        "type": st.just("button"), "value": st.sampled_from(targets.secret_ids),
        "action_ts": st.just("1.0")})
    return st.builds(_block_action, st.sampled_from(targets.outsiders),
                     st.sampled_from([HOME_TEAM, OTHER_TEAM]), action, st.just("block_actions"))


def _submission(user: Any, team: Any, callback: Any, values: Any, metadata: Any,
                kind: str) -> dict[str, Any]:
    return {"type": kind, "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "team_id": team}, "api_app_id": API_APP_ID,
            "trigger_id": f"{time.time_ns()}.2.fuzz",
            "view": {"id": "V0FUZZ", "type": "modal", "callback_id": callback,
                     "private_metadata": metadata, "state": {"values": values}},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None}


def submissions(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """view_submission of the share form (never valid: its recipients are nobody Slack
    knows) and of the unlock form (from people who are not recipients)."""
    nobody = st.lists(st.one_of(st.text(min_size=1, max_size=12).map(lambda s: "U9" + s),
                                json_values), max_size=3)
    field = st.one_of(any_text, json_values)
    share_values = st.fixed_dictionaries({
        "recipients": st.fixed_dictionaries({"users": st.fixed_dictionaries(
            {"selected_users": nobody})}),
        "secret": st.fixed_dictionaries({"text": st.fixed_dictionaries({"value": field})}),
        "expiry": st.fixed_dictionaries({"choice": st.fixed_dictionaries(
            {"selected_option": st.fixed_dictionaries({"value": field})})}),
        "total_views": st.fixed_dictionaries({"number": st.fixed_dictionaries(
            {"value": field})}),
        "passphrase": st.fixed_dictionaries({"text": st.fixed_dictionaries(
            {"value": field})})})
    unlock_values = st.fixed_dictionaries({"passphrase": st.fixed_dictionaries(
        {"text": st.fixed_dictionaries({"value": field})})})
    metadata = st.one_of(
        st.builds(lambda i, u: json.dumps({"id": i, "url": u}), secret_ids(targets), any_text),
        any_text, st.builds(json.dumps, json_values))
    return st.one_of(
        st.builds(_submission, _users(targets), _teams(), st.just("share_secret"),
                  share_values, metadata, st.just("view_submission")),
        st.builds(_submission, _users(targets), _teams(), st.just("unlock_secret"),
                  unlock_values, metadata, st.just("view_submission")),
        st.builds(_submission, _users(targets), _teams(),
                  st.one_of(st.sampled_from(CALLBACK_IDS), any_text),
                  st.one_of(share_values, unlock_values, json_values), metadata,
                  _mostly("view_submission", PAYLOAD_TYPES)))


def shortcuts(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda user, team, callback, kind: {
            "type": kind, "team": {"id": team}, "user": {"id": user},
            "callback_id": callback, "trigger_id": f"{time.time_ns()}.3.fuzz",
            "is_enterprise_install": False, "enterprise": None},
        _users(targets), _teams(), st.one_of(st.sampled_from(CALLBACK_IDS), any_text),
        _mostly("shortcut", PAYLOAD_TYPES))


def events(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """Events API bodies: app_home_opened and others, with odd fields."""
    event = st.fixed_dictionaries({
        "type": st.one_of(_mostly("app_home_opened", ["message", "app_mention",
                                                      "tokens_revoked", "app_uninstalled"]),
                          any_text),
        "user": _users(targets), "tab": st.sampled_from(["home", "messages", ""]),
        "view": st.one_of(*[st.fixed_dictionaries({"type": st.just("home"),
                                                     "private_metadata": any_text})] * 3,
                          json_values)})
    return st.builds(
        lambda team, ev, kind: {"token": "x", "team_id": team, "api_app_id": API_APP_ID,
                                "type": kind, "event": ev, "event_id": "Ev0FUZZ",
                                "event_time": 1, "challenge": "c",
                                "authorizations": [{"team_id": team, "is_bot": True}]},
        _teams(), event, _mostly("event_callback", PAYLOAD_TYPES))


# Commands whose words never change anything for an outsider ("request" sends requests,
# a legitimate change, so it is not drawn).
COMMAND_WORDS = ["", "help", "list", "status", "revoke", "admin", "admin list", "admin revoke",
                 "admin audit", "nonsense", "<@U0BOB>", "<@U0BOB|bob> <@W0X>"]


def commands(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    """Slash command form fields (sent form-encoded, as Slack does)."""
    text = st.builds(lambda word, code, rest: f"{word} {code} {rest}".strip(),
                     st.sampled_from(COMMAND_WORDS),
                     st.one_of(st.sampled_from(targets.codes), st.just("")), any_text)
    return st.fixed_dictionaries({
        "team_id": _teams(), "user_id": _users(targets), "command": st.one_of(
            st.just("/share-secret"), st.just("/other"), any_text),
        "text": text, "channel_id": st.sampled_from(["C0GENERAL", "D0EVE"]),
        "trigger_id": st.just("1.4.fuzz"), "response_url": st.just("http://127.0.0.1:9/x"),
        "api_app_id": st.just(API_APP_ID)}).filter(
            lambda form: not str(form["text"]).lower().startswith("request"))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: Callable[..., Any], payloads: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A payload with up to three of its parts deleted or replaced by other JSON (often
    none: the drawn payloads are odd enough to reach deep into the handlers)."""
    payload = json.loads(json.dumps(draw(payloads)))  # a deep copy of plain JSON
    count = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))
    for _ in range(count):
        paths = _paths(payload)
        path = draw(st.sampled_from(paths))
        replacement = draw(st.one_of(json_values, any_text))
        if not path:
            payload = replacement
            continue
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = replacement
    return payload


FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = [FORM, "application/json", "application/json; charset=utf-8", "text/plain",
                 "multipart/form-data; boundary=x", "", "application/x-www-form-urlencoded\x7f"]


def _dumps(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


def _form(fields: dict[str, str]) -> bytes:
    # A lone surrogate is percent-encoded as the invalid UTF-8 it would be.
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate makes invalid UTF-8


@st.composite
def bodies(draw: Callable[..., Any], targets: Targets) -> tuple[bytes, str]:
    """(raw body, content type): a hostile payload encoded as Slack would, or not."""
    interaction = mutated(st.one_of(clicks(targets), submissions(targets), shortcuts(targets),
                                    aimed_clicks(targets)))
    kind = draw(st.sampled_from(["interaction", "aimed", "event", "command", "raw"]))
    ascii_only = draw(st.booleans())
    if kind in ("interaction", "aimed"):
        value = draw(interaction if kind == "interaction" else aimed_clicks(targets))
        body = _form({"payload": _dumps(value, ascii_only)})
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            body = body[:draw(st.integers(min_value=0, max_value=len(body)))]  # cut short
        default = FORM
    elif kind == "event":
        body = _utf8(_dumps(draw(mutated(events(targets))), ascii_only))
        default = "application/json"
    elif kind == "command":
        form = draw(mutated(commands(targets)))
        fields = form if isinstance(form, dict) else {"text": form}
        body = _form({str(k): v if isinstance(v, str) else _dumps(v, True)
                      for k, v in fields.items()})
        default = FORM
    else:
        body = draw(st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b"payload=", b"payload={", b"payload=[]", b"payload=null",
                             b"payload=%FF%FE", b"{", b"[]", b"null", b"123", b'"x"',
                             b"{}", b"payload=1&payload=2", b"ssl_check=1",
                             b'{"type": "url_verification"}', b'{"authorizations": 7}',
                             b'{"enterprise": 5}', b'{"event": []}',
                             b'payload={"type": "block_actions", "actions": {}}',
                             b"\xef\xbb\xbf{}"])))
        default = draw(st.sampled_from(CONTENT_TYPES))
    content_type = draw(st.one_of(st.just(default), st.just(default),
                                  st.sampled_from(CONTENT_TYPES)))
    return body, content_type
