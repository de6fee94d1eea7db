"""bot.web.inbound: request bodies are read as Bolt reads them, and refused when their shape
is not Slack's (each case below made Bolt raise, and the bot answer 500, before)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.errors import MalformedRequest
from bot.web import inbound

FORM = {"content-type": ["application/x-www-form-urlencoded"]}
JSON = {"content-type": ["application/json"]}
CLICK = {"type": "block_actions", "team": {"id": "T0ACME", "domain": "acme"},
         "user": {"id": "U0EVE", "team_id": "T0ACME"}, "enterprise": None,
         "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/x",
         "actions": [{"action_id": "reveal_secret", "block_id": "b", "value": "v",
                      "type": "button"}], "container": {"type": "message"},
         "channel": {"id": "C0GENERAL"}, "state": {"values": {}}}
SUBMISSION = {"type": "view_submission", "team": {"id": "T0ACME"}, "user": {"id": "U0EVE"},
              "view": {"id": "V1", "type": "modal", "callback_id": "share_secret",
                       "private_metadata": "", "state": {"values": {}}},
              "response_urls": []}
EVENT = {"type": "event_callback", "team_id": "T0ACME",
         "authorizations": [{"team_id": "T0ACME", "user_id": "U0BOT", "is_bot": True,
                             "enterprise_id": None, "is_enterprise_install": False}],
         "event": {"type": "app_home_opened", "user": "U0EVE", "tab": "home",
                   "view": {"type": "home", "private_metadata": ""}}}


def payload(body: object) -> str:
    return urlencode({"payload": json.dumps(body)})


def refused(raw: str, headers: dict[str, list[str]] = FORM) -> str:
    with pytest.raises(MalformedRequest) as caught:
        inbound.read(raw, headers)
    return str(caught.value)


@pytest.mark.parametrize(("raw", "headers"), [
    (payload(CLICK), FORM), (payload(SUBMISSION), FORM), (json.dumps(EVENT), JSON),
    (urlencode({"command": "/share-secret", "text": "help", "team_id": "T0ACME",
                "user_id": "U0EVE", "channel_id": "C0GENERAL"}), FORM),
    ("ssl_check=1&token=x", FORM), ("", FORM),
    (json.dumps({"type": "url_verification", "challenge": "c", "token": "t"}), JSON),
    (payload({**CLICK, "team": None, "user": {"id": "W0GRID", "team_id": "T0ACME"}}), FORM),
    (payload({**CLICK, "message": {"ts": "1.0", "user": "U0BOT", "blocks": []}}), FORM),
])
def test_bodies_slack_sends_are_read_as_bolt_reads_them(raw, headers):
    """What Slack sends passes, and reads the same as Bolt's own parser reads it."""
    assert inbound.read(raw, headers) == AsyncBoltRequest(body=raw, headers=headers).body


@pytest.mark.parametrize("raw", [
    "payload={", "payload=[]", "payload=null", "payload=7", "{", "[1]", '"x"',
    '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
])
def test_bodies_that_are_not_json_objects_are_refused(raw):
    """Broken JSON, another JSON type, or nesting past Python's recursion limit."""
    assert refused(raw, JSON if raw.startswith(("{", "[", '"')) else FORM) == "body"


@pytest.mark.parametrize(("change", "field"), [
    ({"response_urls": None}, "body.response_urls"),
    ({"response_urls": [7]}, "body.response_urls[0]"),
    ({"actions": []}, "body.actions"),
    ({"actions": {"0": {}}}, "body.actions"),
    ({"actions": [{"value": "v"}]}, "body.actions[0].action_id"),
    ({"actions": [{"action_id": 5}]}, "body.actions[0].action_id"),
    ({"team": 5}, "body.team"),
    ({"team": {"id": ["T0ACME"]}}, "body.team.id"),
    ({"user": {"id": "u0eve lowercase"}}, "body.user.id"),
    ({"user": {"id": "U" + "0" * 60}}, "body.user.id"),
    ({"enterprise": {"id": {}}}, "body.enterprise.id"),
    ({"authorizations": {"team_id": "T1"}}, "body.authorizations"),
    ({"view": None}, "body.view"),
    ({"view": {"callback_id": "x"}}, "body.view.type"),
    ({"view": {"type": "modal", "state": []}}, "body.view.state"),
    ({"event": None}, "body.event"),
    ({"event": {"user": "U1"}}, "body.event.type"),
    ({"event": {"type": "message", "message": {"user": 5}}}, "body.event.message.user"),
    ({"event": {"type": "tokens_revoked", "tokens": {"oauth": "U1"}}},
     "body.event.tokens.oauth"),
    ({"event": {"type": "function_executed", "function": None}}, "body.event.function"),
    ({"type": "shortcut", "callback_id": None}, "body.callback_id"),
    ({"type": "block_suggestion"}, "body.action_id"),
    ({"type": "workflow_step_edit", "callback_id": "x"}, "body.workflow_step"),
    ({"view": {"type": "workflow_step"}}, "body.workflow_step"),
    ({"response_url": ["x"]}, "body.response_url"),
])
def test_fields_bolt_relies_on_must_have_slacks_types(change, field):
    """A field Bolt or a handler reads, in a type Slack never sends, is refused by name."""
    assert refused(payload({**CLICK, **change})) == field


def test_an_attachment_action_without_actions_is_refused():
    """Bolt reads `actions[0]` of an interactive_message with a callback_id."""
    body = {k: v for k, v in CLICK.items() if k != "actions"}
    assert refused(payload({**body, "type": "interactive_message",
                            "callback_id": "x"})) == "body.actions"


def test_lone_surrogates_are_refused():
    """JSON may escape a lone surrogate; it is not text, so the request is refused."""
    body = {**CLICK, "actions": [{**CLICK["actions"][0], "value": "\ud800"}]}
    assert "not Unicode text" in refused(payload(body))
    assert "not Unicode text" in refused(payload(body).replace("%5C", "%5c"))
    assert "not Unicode text" in refused(json.dumps(body), JSON)
    assert inbound.read(payload({**CLICK, "text": "\U0001f4a3 é"}), FORM)["text"] == "💣 é"
