"""What the current work is part of: one request from Slack, and who sent it.

Held in context variables, so every log line written while a request is handled, and
in every task it starts (asyncio copies the context into a task when it is created:
the reveal that runs after the answer, its receipts, its audit events), carries the
same request id, workspace, user and action without passing them around.
"""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

_FIELDS = ("request_id", "team_id", "user_id", "action")
_VARS: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"share_secret_{name}", default=None) for name in _FIELDS}
MAX_LENGTH = 64  # ids and action names are short; anything longer is cut


def new_request_id() -> str:
    """A fresh id for one incoming request (16 hex characters, random)."""
    return secrets.token_hex(8)


def bind(**values: str | None) -> None:
    """Set fields of the current context (request_id, team_id, user_id, action) for the
    rest of this task and the tasks it starts. Empty values are left unset."""
    for name, value in values.items():
        if name not in _VARS:
            raise TypeError(f"unknown context field {name}")
        _VARS[name].set(value[:MAX_LENGTH] if value else None)


@contextmanager
def scope(**values: str | None) -> Iterator[None]:
    """`bind` for a block only (tests and code outside a request's own task)."""
    tokens = [(_VARS[name], _VARS[name].set(value[:MAX_LENGTH] if value else None))
              for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict[str, str]:
    """The fields set now (only those with a value)."""
    found = {name: var.get() for name, var in _VARS.items()}
    return {name: value for name, value in found.items() if value}
