"""What travels on the wire: decoding Slack Web API requests and encoding answers.

Slack accepts a method's arguments in the query string and in the body, as
`application/x-www-form-urlencoded`, `multipart/form-data` or `application/json`
(https://docs.slack.dev/apis/web-api/ "POST bodies"). The installed slack_sdk uses
all three shapes: the sync `WebClient` POSTs form bodies for `auth.test`,
`conversations.open`, `users.info`, `chat.delete` and JSON bodies for `chat.*`
messages and `views.*`; the aiohttp `AsyncWebClient` sends the form-style methods
as query strings with an empty body (and `users.info` as a GET).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from .server import HttpRequest

# Arguments Slack documents as "a JSON-encoded string" in form bodies. JSON bodies
# may carry them as objects (what slack_sdk sends) or as strings; both are decoded
# so that recorded params and the methods always see objects.
JSON_STRING_FIELDS = ("blocks", "attachments", "view", "metadata")

# https://docs.slack.dev/apis/web-api/ lists the charsets Slack accepts
# (error `invalid_charset`: "Valid charset names are: utf-8 iso-8859-1").
_CHARSETS = {"utf-8", "utf8", "iso-8859-1", "latin-1"}

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


class ApiError(Exception):
    """A Slack error answer: HTTP 200 `{"ok": false, "error": code, ...}` by default."""

    def __init__(
        self,
        code: str,
        *,
        messages: list[str] | None = None,
        status: int = 200,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack sends for this error."""
        body: dict[str, Any] = {"ok": False, "error": self.code, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, decoded body (dict for JSON, str for text) and headers."""

    status: int
    body: dict[str, Any] | str
    headers: Mapping[str, str] = field(default_factory=dict)
    lost: bool = False  # the call took effect, but the connection drops before the answer

    def encoded(self) -> tuple[bytes, str]:
        """The body bytes and their Content-Type."""
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), TEXT_TYPE
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8"), JSON_TYPE


# Warnings Slack adds to successful answers about the request's Content-Type
# (Slack's "Well wishes and warnings in the Web API" post; python-slack-sdk #692 shows
# `superfluous_charset` for a form body with a charset). The message text for
# missing_charset is copied from an observed answer; unverified: the wording for
# superfluous_charset, and the top-level `warning` string beside the documented
# `response_metadata.warnings` list.
_WARNING_MESSAGES = {
    "missing_charset": "[WARN] A Content-Type HTTP header was presented but did not declare "
    "a charset, such as a 'utf-8'",
    "superfluous_charset": "[WARN] A Content-Type HTTP header was presented with a charset "
    "that is not needed for this content type",
}


@dataclass(frozen=True)
class Parsed:
    """A Web API request's arguments, the token presented, and Content-Type warnings.

    `bearer` tells whether the token came in `Authorization: Bearer` rather than as an
    argument (app-level methods accept it only there).
    """

    params: dict[str, Any]
    token: str | None
    warnings: tuple[str, ...] = ()
    bearer: bool = False


def parse_params(request: HttpRequest) -> Parsed:
    """Merge query and body arguments, take the token out, note charset warnings.

    The token comes from `Authorization: Bearer` or, as Slack also allows, a
    `token` argument. Raises ApiError for bodies Slack would refuse.
    """
    params: dict[str, Any] = dict(request.query)
    body, warnings = _body_params(request)
    params.update(body)
    for name in JSON_STRING_FIELDS:
        value = params.get(name)
        if isinstance(value, str):
            # A string that is not JSON stays a string: the method answers its own error.
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    token = params.pop("token", None)
    auth = request.header("authorization")
    bearer = bool(auth and auth.lower().startswith("bearer "))
    if auth and bearer:
        token = auth[len("bearer ") :].strip()
    return Parsed(params, token if isinstance(token, str) else None, warnings, bearer)


def add_warnings(body: dict[str, Any], warnings: tuple[str, ...]) -> dict[str, Any]:
    """Attach Slack's `warning` and `response_metadata.warnings` to a success body."""
    if not warnings or not body.get("ok"):
        return body
    body = dict(body)
    body["warning"] = ",".join(warnings)
    metadata = dict(body.get("response_metadata") or {})
    metadata["warnings"] = list(warnings)
    metadata["messages"] = [_WARNING_MESSAGES[w] for w in warnings]
    body["response_metadata"] = metadata
    return body


def _body_params(request: HttpRequest) -> tuple[dict[str, Any], tuple[str, ...]]:
    if not request.body:
        return {}, ()
    content_type = request.header("content-type")
    if not content_type:
        raise ApiError("missing_post_type")
    mime, _, rest = content_type.partition(";")
    mime = mime.strip().lower()
    declared = _charset(rest)
    charset = (declared or "utf-8").lower()
    if charset not in _CHARSETS:
        raise ApiError("invalid_charset")
    text = request.body.decode("utf-8" if charset.startswith("utf") else "latin-1", "replace")
    if mime == "application/json":
        try:
            decoded = json.loads(text)
        except ValueError:
            # unverified: the error code Slack gives a malformed JSON body.
            raise ApiError("invalid_json") from None
        if not isinstance(decoded, dict):
            raise ApiError("invalid_json")
        return decoded, () if declared else ("missing_charset",)
    if mime in ("application/x-www-form-urlencoded", "text/plain"):
        # unverified: how Slack reads a text/plain body; treated as a form here.
        fields = dict(parse_qsl(text, keep_blank_values=True))
        return fields, ("superfluous_charset",) if declared else ()
    if mime == "multipart/form-data":
        return _multipart(content_type, request.body), ()
    raise ApiError("invalid_post_type")


def _charset(parameters: str) -> str | None:
    for part in parameters.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError("invalid_form_data")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name and isinstance(payload, bytes):
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


def json_answer(
    body: dict[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Answer:
    """A JSON answer (`application/json; charset=utf-8`)."""
    return Answer(status=status, body=body, headers=dict(headers or {}))


def text_answer(
    body: str, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Answer:
    """A plain-text answer, as the response_url host sends."""
    return Answer(status=status, body=body, headers=dict(headers or {}))


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (what every argument and stored view or message is).

    Through json's C codec: about ten times cheaper than copy.deepcopy, which was most of
    the stand-in's work for a large modal such as the share form.
    """
    return json.loads(json.dumps(value))


def truthy(value: Any) -> bool:
    """Slack's reading of a boolean argument: JSON true, or "true"/"1" in forms."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
