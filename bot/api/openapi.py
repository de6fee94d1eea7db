"""The API's OpenAPI 3.1 document, served at /api/v1/openapi.json.

The request body's schema comes from its pydantic model (bot.api.bodies), so the
document and the checks cannot drift apart. The answers' schemas are written out here,
apart from the code that builds the answers (bot.api.answers, bot.api.problems): a test
validates every real answer against them, so a change to either side that the other
does not follow fails it.
"""

from __future__ import annotations

from typing import Any

from bot.api.bodies import CreateSecret
from bot.api.problems import CONTENT_TYPE, PROBLEMS, TYPE_ROOT

VERSION = "1.0.0"
_REF = "#/components/schemas/{model}"
_TIME = {"type": "string", "format": "date-time"}
_PARTY = {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
    "slack_user": {"type": "string"}, "api_token": {"type": "string"},
    "other": {"type": "string"}}, "additionalProperties": False}
_VIEWS = {"type": "object", "required": ["allowed", "used"], "additionalProperties": False,
          "properties": {"allowed": {"type": ["integer", "null"], "minimum": 0,
                                     "description": "null: unlimited until it expires"},
                         "used": {"type": "integer", "minimum": 0}}}
_STATUS = {"type": "string", "enum": ["active", "burned", "expired", "revoked"]}
_AUDIENCE = {"type": "string", "enum": ["workspace", "email", "link"]}

SCHEMAS: dict[str, Any] = {
    "SecretCreated": {
        "type": "object", "additionalProperties": False,
        "required": ["code", "audience", "status", "expires_at", "views"],
        "properties": {
            "code": {"type": "string", "pattern": "^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$"},
            "audience": _AUDIENCE, "status": _STATUS, "expires_at": _TIME, "views": _VIEWS,
            "url": {"type": "string", "format": "uri", "description": (
                "link and email audiences: the page to open it. Shown once: its key "
                "(after #) is never stored, and cannot be asked for again.")}}},
    "SecretStatus": {
        "type": "object", "additionalProperties": False,
        "required": ["code", "status", "audience", "format", "label", "created_by",
                     "created_at", "expires_at", "ended_at", "views", "recipients",
                     "viewed", "has_passphrase"],
        "properties": {
            "code": {"type": "string"}, "status": _STATUS, "audience": _AUDIENCE,
            "format": {"type": "string", "enum": ["text", "json", "yaml", "env"]},
            "label": {"type": ["string", "null"]}, "created_by": _PARTY,
            "ended_by": _PARTY, "created_at": _TIME, "expires_at": _TIME,
            "ended_at": {"type": ["string", "null"], "format": "date-time"},
            "views": _VIEWS, "has_passphrase": {"type": "boolean"},
            "recipients": {"type": "array", "items": {"type": "string"}, "description": (
                "Slack user ids, `link`, or `mailto:` with the address masked")},
            "viewed": {"type": "array", "items": {
                "type": "object", "required": ["by", "at"], "additionalProperties": False,
                "properties": {"by": {"type": "string"}, "at": _TIME}}}}},
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail", "instance"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "enum": sorted(TYPE_ROOT + k for k in PROBLEMS)},
            "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "instance": {"type": "string"},
            "retry_after": {"type": "integer", "minimum": 1},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "detail"],
                "additionalProperties": False,
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}}}}}},
    "ProblemType": {
        "type": "object", "required": ["type", "title", "status", "description"],
        "additionalProperties": False,
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "description": {"type": "string"}}},
}


def document() -> dict[str, Any]:
    """The whole document."""
    request = CreateSecret.model_json_schema(ref_template=_REF)
    schemas = {**request.pop("$defs", {}), "CreateSecret": request, **SCHEMAS}
    code = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The share code, e.g. ABCD-EFGH-JKLM (dashes optional)"}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "share-secret API", "version": VERSION, "description": (
            "Create, check and revoke one-time secrets. Every request but this document's "
            "carries `Authorization: Bearer <token>`; a workspace admin creates tokens.")},
        "servers": [{"url": "/"}],
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "An API token (shsec_...)"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/secrets": {"post": {
                "operationId": "createSecret", "summary": "Share a secret",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1,
                                           "maxLength": 255},
                                "description": "A retry with the same key and body gets "
                                               "the first answer (kept 24 hours)."}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("CreateSecret")}}},
                "responses": {"201": _json("The secret was stored", "SecretCreated"),
                              **_problems(400, 401, 403, 409, 413, 415, 422, 429, 503)}}},
            "/api/v1/secrets/{code}": {
                "parameters": code,
                "get": {"operationId": "getSecret", "summary": "A secret's status",
                        "responses": {"200": _json("Its metadata", "SecretStatus"),
                                      **_problems(401, 403, 404, 429, 503)}},
                "delete": {"operationId": "revokeSecret", "summary": "Revoke a secret",
                           "responses": {"200": _json("Revoked: its metadata now",
                                                      "SecretStatus"),
                                         **_problems(401, 403, 404, 409, 429, 503)}}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "The OpenAPI document", "content": {
                    "application/json": {"schema": {"type": "object"}}}}}}},
            "/api/v1/problems/{kind}": {"get": {
                "operationId": "problemType", "summary": "What a problem type means",
                "security": [], "parameters": [{"name": "kind", "in": "path",
                                                "required": True,
                                                "schema": {"type": "string"}}],
                "responses": {"200": _json("The problem type", "ProblemType"),
                              **_problems(404)}}},
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": _ref(schema)}}}


def _problems(*statuses: int) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status in statuses:
        kinds = sorted(k for k, p in PROBLEMS.items() if p.status == status)
        answers[str(status)] = {"description": ", ".join(kinds), "content": {
            CONTENT_TYPE: {"schema": _ref("Problem")}}}
    answers["405"] = {"description": "method-not-allowed", "content": {
        CONTENT_TYPE: {"schema": _ref("Problem")}}}
    return answers
