"""The record of every call the stand-in answered, and waiting on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedCall:
    """One answered request.

    `method` is the Web API method name ("chat.postMessage") or "response_url".
    `params` are the decoded arguments (JSON body or form fields merged with the query
    string; JSON-string fields such as `view` and `blocks` decoded to objects; the
    token removed). `response` is the JSON body answered, or for response_url
    `{"ok": true}` / `{"ok": false, "error": <the text body>}`. `context` is set for
    response_url calls: the url and the channel_id, user_id and message_ts it was
    issued for.
    """

    method: str
    params: Mapping[str, Any]
    headers: Mapping[str, str]
    status: int
    response: Mapping[str, Any]
    at: float
    context: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (HTTP 200 and `"ok": true`)."""
        return self.status == 200 and bool(self.response.get("ok"))

    def describe(self) -> str:
        """One line for failure messages: method, status, outcome and a hint of content."""
        outcome = "ok" if self.ok else f"error={self.response.get('error')}"
        hints = []
        for name in ("channel", "user", "users", "trigger_id", "view_id", "ts", "text"):
            if name in self.params:
                hints.append(f"{name}={_short(self.params[name])}")
        if self.context:
            hints.append(f"channel_id={self.context.get('channel_id')}")
        return " ".join([self.method, str(self.status), outcome, *hints])


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CallLog:
    """Thread-safe list of RecordedCall, with blocking waits.

    It shares the stand-in's one Condition, so a call is recorded in the same
    critical section that changed the workspace state.
    """

    def __init__(self, condition: threading.Condition) -> None:
        self._condition = condition
        self._calls: list[RecordedCall] = []

    def append(self, call: RecordedCall) -> None:
        """Record a call and wake waiters. The caller holds the condition."""
        self._calls.append(call)
        self._condition.notify_all()

    def snapshot(self) -> list[RecordedCall]:
        """A copy of every recorded call, oldest first."""
        with self._condition:
            return list(self._calls)

    def clear(self) -> None:
        """Forget every call."""
        with self._condition:
            self._calls.clear()

    def matching(
        self, method: str, where: Callable[[RecordedCall], bool] | None = None
    ) -> list[RecordedCall]:
        """Calls to `method` that satisfy `where`, oldest first."""
        with self._condition:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until `count` matching calls are recorded; return the first `count`.

        Raises AssertionError listing what was recorded when `timeout` passes first.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(method, count, timeout, found))
                self._condition.wait(remaining)

    def _timeout_message(
        self, method: str, count: int, timeout: float, found: list[RecordedCall]
    ) -> str:
        lines = [
            f"waited {timeout:.1f}s for {count} matching {method} call(s), "
            f"found {len(found)}; {len(self._calls)} call(s) recorded:"
        ]
        lines += [f"  {i}. {call.describe()}" for i, call in enumerate(self._calls, 1)]
        if not self._calls:
            lines.append("  (none)")
        return "\n".join(lines)

    def sent_texts(self) -> list[str]:
        """Every string value in every call's params, for checks that a secret never left."""
        with self._condition:
            return [text for call in self._calls for text in _strings(call.params)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
