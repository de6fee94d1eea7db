"""A client of the bot's HTTP API for tests and the demo: real HTTP, and every answer held
to the OpenAPI document the bot serves (its status listed for the operation, its
content type, its body valid against the schema).

A mismatch raises at once, in whichever test made the request: the document cannot say
one thing while the API does another.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes
    body: Any = None
    operation: str = ""


class NotAsDocumented(AssertionError):
    """An answer the OpenAPI document does not allow."""


@dataclass
class ApiClient:
    port: int
    document: dict[str, Any] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (operationId, status)

    def __post_init__(self) -> None:
        if not self.document:
            answer = self._send("GET", "/api/v1/openapi.json", b"", {})
            self.document = json.loads(answer.raw)

    def call(self, method: str, path: str, *, token: str | None = None,
             body: Any = None, raw: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        answer = self._send(method, path, raw or b"", sent)
        self.check(method, path, answer)
        return answer

    def create(self, token: str, body: Any, **kwargs: Any) -> Answer:
        return self.call("POST", "/api/v1/secrets", token=token, body=body, **kwargs)

    def status(self, token: str, code: str) -> Answer:
        return self.call("GET", f"/api/v1/secrets/{code}", token=token)

    def revoke(self, token: str, code: str) -> Answer:
        return self.call("DELETE", f"/api/v1/secrets/{code}", token=token)

    # -- the check ------------------------------------------------------------------

    def check(self, method: str, path: str, answer: Answer) -> None:
        template, item = self._path(path)
        if item is None:
            self._problem(answer, expect=404)  # not a documented path: a problem
            return
        operation = item.get(method.lower())
        if operation is None:
            self._problem(answer, expect=405)
            return
        answer.operation = operation["operationId"]
        responses = operation["responses"]
        listed = responses.get(str(answer.status))
        if listed is None:
            raise NotAsDocumented(f"{method} {template} answered {answer.status}, which "
                                  f"the document does not list ({sorted(responses)})")
        content = listed.get("content", {})
        kind = answer.headers.get("content-type", "").split(";")[0]
        if kind not in content:
            raise NotAsDocumented(f"{method} {template} {answer.status}: content type "
                                  f"{kind!r}, documented {sorted(content)}")
        self._valid(answer, content[kind]["schema"], f"{method} {template}")
        self.seen.add((answer.operation, str(answer.status)))

    def _problem(self, answer: Answer, *, expect: int) -> None:
        if answer.status != expect:
            raise NotAsDocumented(f"an undocumented request answered {answer.status}")
        self._valid(answer, {"$ref": "#/components/schemas/Problem"}, "a problem")

    def _valid(self, answer: Answer, schema: dict[str, Any], what: str) -> None:
        answer.body = json.loads(answer.raw) if answer.raw else None
        root = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(
            root, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(
                answer.body), key=lambda e: list(e.path))
        if errors:
            raise NotAsDocumented(f"{what} {answer.status}: "
                                  + "; ".join(f"{list(e.path)}: {e.message}"
                                              for e in errors[:5]))

    def _path(self, path: str) -> tuple[str, dict[str, Any] | None]:
        bare = path.split("?")[0]
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, bare):
                return template, item
        return bare, None

    def _send(self, method: str, path: str, raw: bytes,
              headers: Mapping[str, str]) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=raw, headers=dict(headers))
            response = conn.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read())
        finally:
            conn.close()
