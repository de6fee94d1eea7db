"""Reading a Slack request's body as Bolt's `parse_body` does, faster for the one shape
that carries every click and form: `payload=` and a percent-encoded JSON object.

The standard library decodes percent escapes one at a time in Python (about 270 µs for a
share form's 11 KB), which made reading the body the largest single cost of a share. Here
the escapes of such a body are decoded in C, by `binascii.a2b_qp`: quoted-printable's
`=XX` escapes are percent-encoding's `%XX` with another sign, so once `+` is a space and
`%` is `=`, one call decodes them all. That holds only for a value with no `=` of its own,
no line break (a soft line break in quoted-printable) and no `%` that does not start an
escape: any other body (and any other shape) is read by Bolt's own function, so the answer
is always exactly Bolt's (tests/unit/test_form_body.py checks it on generated bodies).
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import parse_body as bolt_parse_body

_PREFIX = "payload="
# A JSON escape of a UTF-16 surrogate (`\ud800`): the one way a body can carry a string
# that is not Unicode text (the body itself is UTF-8, and percent escapes are decoded as
# UTF-8, a broken sequence replaced).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class Parsed:
    body: Any  # what Bolt's parse_body answers
    # False when no string in it can be a lone surrogate (no JSON escape of one), so the
    # caller need not look (bot.web.inbound).
    maybe_surrogates: bool


def parse_body(body: str, content_type: str | None) -> Any:
    """What Bolt's `parse_body` answers for `body` (or raises), sooner for a payload."""
    return parse(body, content_type).body


def parse(body: str, content_type: str | None) -> Parsed:
    """`parse_body`, and whether a string in the result may be a lone surrogate."""
    if content_type != "application/json" and body.startswith(_PREFIX) and "&" not in body:
        value = body[len(_PREFIX):]
        # Left to the standard library: anything outside ASCII (encoded as UTF-8 first),
        # and what quoted-printable reads otherwise (a bare `=`, a line break).
        if value.isascii() and "=" not in value and "\r" not in value and "\n" not in value:
            decoded = binascii.a2b_qp(value.replace("+", " ").replace("%", "="))
            # Every escape decoded takes two characters off; a `%` that does not start
            # one takes fewer, and leaves the body to the standard library.
            if len(decoded) == len(value) - 2 * value.count("%"):
                # As urllib's unquote decodes: UTF-8, a broken sequence replaced.
                text = decoded.decode("utf-8", "replace")
                return Parsed(json.loads(text), _SURROGATE_ESCAPE.search(text) is not None)
    # Any other body: it may hold such an escape if it has a backslash, raw or escaped.
    return Parsed(bolt_parse_body(body, content_type),
                  "\\" in body or "%5C" in body or "%5c" in body)
