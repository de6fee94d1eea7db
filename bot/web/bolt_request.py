"""A Bolt request built from a body that bot.web.inbound has already parsed and checked.

Bolt's `AsyncBoltRequest` parses the raw body itself (url-decoding the form, then the
JSON payload). In HTTP mode bot.web must parse it first, to refuse shapes Bolt would
choke on, so letting Bolt parse it again cost a second decode of every request (a
tenth of a reveal click's answer). This request holds the parsed body and otherwise
sets exactly what Bolt's constructor sets (tests/unit/test_bolt_request.py compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import (
    build_normalized_headers,
    extract_content_type,
    parse_query,
)


class ParsedBoltRequest(AsyncBoltRequest):
    """An HTTP-mode Bolt request whose raw body was parsed into `body` by the caller."""

    def __init__(self, *, raw_body: str, body: dict[str, Any], query: str,
                 headers: dict[str, str | Sequence[str]]) -> None:
        # Not super().__init__: that is the second parse this class exists to avoid.
        self.raw_body = raw_body
        self.query = parse_query(query)
        self.headers = build_normalized_headers(headers)
        self.content_type = extract_content_type(self.headers)
        self.body = body
        self.context = build_async_context(AsyncBoltContext({}), body)
        self.lazy_only = bool(self.headers.get("x-slack-bolt-lazy-only", [False])[0])
        self.lazy_function_name = self.headers.get("x-slack-bolt-lazy-function-name",
                                                   [None])[0]
        self.mode = "http"
