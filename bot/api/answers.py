"""The bodies of the API's successful answers: a secret's metadata as JSON, never its
content. Their schemas are in bot.api.openapi; a test holds each answer to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain import SecretRecord, api_token_name, is_slack_user, masked


def iso(at: float | None) -> str | None:
    """A time as RFC 3339 in UTC, to the second."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created(record: SecretRecord, *, url: str | None) -> dict[str, Any]:
    """201's body: what a script needs to hand the secret on or follow it."""
    body = {"code": record.code, "audience": record.audience.value,
            "status": record.status.value, "expires_at": iso(record.expires_at),
            "views": _views(record)}
    if url is not None:
        body["url"] = url  # shown once: it holds the link key, which is never stored
    return body


def status(record: SecretRecord) -> dict[str, Any]:
    """GET's (and DELETE's) body: status, dates, recipients and who viewed it when."""
    body: dict[str, Any] = {
        "code": record.code, "status": record.status.value,
        "audience": record.audience.value, "format": record.format.value,
        "label": record.label, "created_by": _party(record.sender_id),
        "created_at": iso(record.created_at), "expires_at": iso(record.expires_at),
        "ended_at": iso(record.ended_at), "views": _views(record),
        "recipients": [masked(r) for r in record.recipients],
        "viewed": [{"by": masked(who), "at": iso(at)}
                   for who, at in sorted(record.viewed_at.items(), key=lambda kv: kv[1])],
        "has_passphrase": record.has_passphrase,
    }
    if record.ended_by is not None:
        body["ended_by"] = _party(record.ended_by)
    return body


def _views(record: SecretRecord) -> dict[str, Any]:
    return {"allowed": record.views_allowed, "used": record.views_used}


def _party(principal: str) -> dict[str, str]:
    """Who created or ended it: a Slack user by id, an API token by name."""
    name = api_token_name(principal)
    if name is not None:
        return {"api_token": name}
    if is_slack_user(principal):
        return {"slack_user": principal}
    return {"other": masked(principal)}
