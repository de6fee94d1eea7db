"""One Slack request, observed: its context bound, its answer timed, counted, logged.

Used by HTTP mode (bot.web) and Socket Mode alike, around Bolt's dispatch. The
context is bound in the task that handles the request, so every task it starts
afterwards (the reveal, receipts, audit events, Slack calls) logs under the same
request id, workspace, user and action.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.telemetry import context
from bot.telemetry.metrics import Metrics

_INTERACTIONS = {"block_actions", "view_submission", "view_closed", "url_verification"}


async def dispatch(bolt: AsyncApp, request: AsyncBoltRequest, *, metrics: Metrics,
                   logger: logging.Logger) -> BoltResponse:
    """Dispatch to Bolt; log one `slack_request` event with kind, outcome and duration."""
    body = request.body if isinstance(request.body, dict) else {}
    kind, action = describe(body)
    bolt_context = request.context
    context.bind(request_id=context.current().get("request_id") or context.new_request_id(),
                 team_id=bolt_context.team_id or bolt_context.enterprise_id,
                 user_id=bolt_context.user_id, action=action)
    started = time.perf_counter()
    status = 500
    try:
        response = await bolt.async_dispatch(request)
        status = response.status
        return response
    finally:
        elapsed = time.perf_counter() - started
        ok = status < 400
        metrics.observe_request(kind, elapsed, ok=ok)
        logger.log(logging.INFO if ok else logging.WARNING, "slack request %s answered %s",
                   kind, status, extra={"event": "slack_request", "kind": kind,
                                        "outcome": "ok" if ok else "error", "status": status,
                                        "duration_ms": round(elapsed * 1000, 2)})


def describe(body: dict[str, Any]) -> tuple[str, str | None]:
    """The request's kind (a bounded set, for metrics) and its action: the command,
    the button's action id, the view's or shortcut's callback id, or the event type."""
    if "command" in body:
        return "command", _text(body.get("command"))
    kind = _text(body.get("type")) or ""
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        return kind, _text(first.get("action_id")) if isinstance(first, dict) else None
    if kind in _INTERACTIONS:
        view = body.get("view")
        return kind, _text(view.get("callback_id")) if isinstance(view, dict) else None
    if kind in {"shortcut", "message_action"}:
        return "shortcut", _text(body.get("callback_id"))
    if kind == "event_callback":
        event = body.get("event")
        return "event", _text(event.get("type")) if isinstance(event, dict) else None
    return "other", None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
