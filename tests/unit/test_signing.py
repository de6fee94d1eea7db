"""Slack request signatures: checked on raw bytes, in constant time, within five minutes."""

from __future__ import annotations

import pytest

from bot.web.signing import SignatureCheck
from devtools.harness.slack_client import signature

NOW = 1_700_000_000
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
check = SignatureCheck("shhh", clock=lambda: NOW)


def test_slack_signed_request_is_valid():
    """A body signed as Slack signs it, just now, is accepted."""
    assert check.is_valid(BODY, str(NOW), signature("shhh", str(NOW), BODY))


@pytest.mark.parametrize(("body", "timestamp", "sig"), [
    (BODY, str(NOW), signature("other", str(NOW), BODY)),            # wrong secret
    (BODY + b"x", str(NOW), signature("shhh", str(NOW), BODY)),      # body changed
    (BODY, str(NOW - 301), signature("shhh", str(NOW - 301), BODY)),  # too old
    (BODY, str(NOW + 301), signature("shhh", str(NOW + 301), BODY)),  # from the future
    (BODY, str(NOW), None),                                          # no signature
    (BODY, None, signature("shhh", str(NOW), BODY)),                 # no timestamp
    (BODY, "12abc", "v0=00"),                                        # not a number
    (BODY, "9" * 40, "v0=00"),                                       # absurd number
    (BODY, str(NOW), "v0=é"),                                        # non-ASCII signature
    (BODY, "\xb2", signature("shhh", "\xb2", BODY)),                  # a Latin-1 digit
    (BODY, "\u0661" * 3, signature("shhh", "\u0661" * 3, BODY)),      # an Arabic digit
])
def test_anything_else_is_refused(body, timestamp, sig):
    """Wrong secret, changed body, stale or future timestamps and junk headers all fail."""
    assert not check.is_valid(body, timestamp, sig)


def test_five_minutes_is_still_accepted():
    """The boundary itself (exactly 300 s old) is inside the window."""
    ts = str(NOW - 300)
    assert check.is_valid(BODY, ts, signature("shhh", ts, BODY))
