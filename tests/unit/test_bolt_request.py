"""bot.web.bolt_request: a request built from an already parsed body is the request Bolt's
own constructor builds from the raw body (only the second parse is saved)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.web import inbound
from bot.web.bolt_request import ParsedBoltRequest
from tests.unit.test_inbound import CLICK, EVENT, FORM, JSON, SUBMISSION, payload

SLASH = urlencode({"command": "/share-secret", "text": "@eve", "team_id": "T0ACME",
                   "user_id": "U0EVE", "channel_id": "C0GENERAL", "trigger_id": "1.2.3",
                   "enterprise_id": "E0ORG", "is_enterprise_install": "false"})


def _headers(content_type: dict[str, list[str]]) -> dict[str, object]:
    return {**content_type, "x-slack-signature": ["v0=ab"],
            "x-slack-request-timestamp": ["1700000000"], "x-slack-retry-num": ["1"],
            "x-slack-bolt-lazy-only": ["1"], "x-slack-bolt-lazy-function-name": ["f"]}


@pytest.mark.parametrize(("raw", "content_type"), [
    (payload(CLICK), FORM), (payload(SUBMISSION), FORM), (json.dumps(EVENT), JSON),
    (SLASH, FORM), ("ssl_check=1&token=x", FORM),
    (payload({**CLICK, "enterprise": {"id": "E0ORG"}, "is_enterprise_install": True}), FORM),
])
def test_parsed_request_matches_bolts_own(raw, content_type):
    """Every attribute Bolt's constructor sets, context included, comes out the same."""
    headers = _headers(content_type)
    query = "a=1&b=2&b=3"
    ours = ParsedBoltRequest(raw_body=raw, body=inbound.read(raw, headers), query=query,
                             headers=headers)
    bolts = AsyncBoltRequest(body=raw, query=query, headers=headers)
    mine, theirs = vars(ours), vars(bolts)
    assert mine.keys() == theirs.keys()
    for name in theirs:
        if name == "context":
            assert dict(mine[name]) == dict(theirs[name])
        else:
            assert mine[name] == theirs[name], name
    assert vars(ours.to_copyable()).keys() == theirs.keys()
