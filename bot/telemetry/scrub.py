"""Defence in depth for logs: redact anything that looks like a credential.

The first protection is that no code formats a secret into a log line; this catches a
mistake (ours or a library's) before it reaches the log. It runs on the finished line,
so it also covers arguments, extras and tracebacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# Slack's token shapes: bot, user, app-level, refresh, config and legacy tokens
# (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xoxe.xoxp-, xapp-).
_TOKENS = re.compile(r"\b(?:xox[abeoprs](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]{6,}")
_SHORTEST = 8  # a configured value shorter than this is not worth matching literally


class Scrubber:
    """Replaces token-shaped strings and the configured secret values with REDACTED."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if s and len(s) >= _SHORTEST}, key=len,
                        reverse=True)
        self._literal = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        text = _TOKENS.sub(REDACTED, text)
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        return text
