"""The HTTP API's errors: RFC 9457 problem details, each of a stable type.

A type is `/api/v1/problems/<kind>`, a reference relative to the API that the API itself
serves (GET it for a description), so a client can branch on `type` and a person can
look it up. The catalogue below is the whole set: the OpenAPI document lists it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import ApiRefusal
from bot.render import api as words

TYPE_ROOT = "/api/v1/problems/"
CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    description: str


PROBLEMS: dict[str, ProblemType] = {
    kind: ProblemType(status, title, description)
    for kind, (status, title, description) in words.PROBLEMS.items()
}


def refusal(kind: str, detail: str | None = None, **options: Any) -> ApiRefusal:
    """An ApiRefusal of a catalogued kind (its description when no detail is given)."""
    return ApiRefusal(kind, detail or PROBLEMS[kind].description, **options)


def status_of(problem: ApiRefusal) -> int:
    return PROBLEMS[problem.kind].status


def body_of(problem: ApiRefusal, *, instance: str) -> dict[str, Any]:
    """The problem's JSON object: type, title, status, detail, instance (the path), and
    the bad fields as `errors` where there are any."""
    kind = PROBLEMS[problem.kind]
    body: dict[str, Any] = {"type": TYPE_ROOT + problem.kind, "title": kind.title,
                            "status": kind.status, "detail": problem.detail,
                            "instance": instance}
    if problem.errors:
        body["errors"] = problem.errors
    if problem.retry_after is not None:
        body["retry_after"] = problem.retry_after
    return body


def headers_of(problem: ApiRefusal) -> list[tuple[bytes, bytes]]:
    """Retry-After for 429 and 503, Allow for 405, WWW-Authenticate for 401."""
    headers: list[tuple[bytes, bytes]] = []
    if problem.retry_after is not None:
        headers.append((b"retry-after", str(problem.retry_after).encode()))
    if problem.allow is not None:
        headers.append((b"allow", problem.allow.encode()))
    if PROBLEMS[problem.kind].status == 401:
        headers.append((b"www-authenticate",
                        b'Bearer realm="share-secret", error="invalid_token"'))
    return headers


def description_of(kind: str) -> dict[str, Any] | None:
    """What GET /api/v1/problems/<kind> answers: the type and what it means."""
    found = PROBLEMS.get(kind)
    if found is None:
        return None
    return {"type": TYPE_ROOT + kind, "title": found.title, "status": found.status,
            "description": found.description}
