"""What the HTTP API says: its problem types' titles and descriptions, and the details it
gives. Never a value the client sent (it could be the secret)."""

from __future__ import annotations

# kind: (HTTP status, title, description). The kinds are the stable part of each type.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "invalid-json": (400, "Malformed JSON",
                     "The request body must be a JSON object (Content-Type: application/json), "
                     "each key given once."),
    "invalid-header": (400, "Malformed header",
                       "A header of the request is malformed; `detail` names it."),
    "unauthorized": (401, "Missing or invalid API token",
                     "Send an API token as `Authorization: Bearer <token>`. It may be "
                     "mistyped, or revoked: ask a workspace admin for a new one."),
    "forbidden": (403, "Another workspace's secret",
                  "This secret belongs to another workspace than the token's."),
    "quota-exceeded": (403, "Storage quota reached",
                       "Storing this secret would pass a storage cap; nothing was stored. "
                       "Revoke secrets that are no longer needed, or wait for some to end."),
    "not-found": (404, "Not found", "There is no such secret, or no such endpoint."),
    "method-not-allowed": (405, "Method not allowed",
                           "This endpoint does not take that method; `Allow` lists those "
                           "it takes."),
    "not-active": (409, "Secret no longer active",
                   "The secret was already burned, expired or revoked."),
    "idempotency-in-progress": (409, "Request in progress",
                                "A request with this Idempotency-Key is still being "
                                "handled. Retry after `Retry-After` seconds."),
    "too-large": (413, "Request too large", "The request body is over the size limit."),
    "unsupported-media-type": (415, "Unsupported media type",
                               "Send the body as JSON, with Content-Type: application/json."),
    "invalid-request": (422, "Invalid request",
                        "Some fields are missing or invalid; `errors` names each one."),
    "idempotency-key-reused": (422, "Idempotency-Key reused",
                               "This Idempotency-Key was used for a request with another "
                               "body. Use a new key for a new secret."),
    "rate-limited": (429, "Too many requests",
                     "This token has made too many requests. Retry after `Retry-After` "
                     "seconds."),
    "unavailable": (503, "Temporarily unavailable",
                    "share-secret cannot reach its storage right now; nothing was "
                    "changed. Retry after `Retry-After` seconds."),
    "slack-unavailable": (503, "Slack unavailable",
                          "Slack did not answer in time, so the recipients could not be "
                          "checked; nothing was stored. Retry after `Retry-After` seconds."),
}

MISSING_TOKEN = "Send an API token as `Authorization: Bearer <token>`."
BAD_TOKEN = ("This API token is not valid: it may be mistyped or revoked. Ask a workspace "
             "admin for a new one.")
UNKNOWN_ENDPOINT = "There is no such endpoint. The API is described at /api/v1/openapi.json."
NO_SUCH_SECRET = "There is no secret with this code."
BAD_CODE = "A share code looks like ABCD-EFGH-JKLM."
RATE_LIMITED = ("This token made more than {limit} requests in {window}. Retry in "
                "{retry_after} s.")
OVER_QUOTA = "Storing this secret would pass the {scope}'s cap ({limit}); nothing was stored."
ALREADY_ENDED = "The secret is already {status}."
KEY_IN_PROGRESS = "A request with this Idempotency-Key is still being handled."
BAD_IDEMPOTENCY_KEY = "Idempotency-Key must be 1 to 255 visible ASCII characters."
NO_WEB_PAGES = ("Secrets for people outside Slack need PUBLIC_URL, which this deployment "
                "has not set. Use slack_users.")
NO_MAIL = "This deployment cannot send mail (SMTP_URL is not set): set `mail` to false."
ONE_AUDIENCE = "Give exactly one of link, emails or slack_users."
# Fields that take one of two kinds of value: one message for both.
EITHER_OR = {
    "expires_in": "Give seconds (300 to 2592000) or a duration such as 45m, 12h or 3d.",
    "views": "Give a number of views from 1 to 1000, or \"each\", or \"unlimited\".",
}
NOT_INSTALLED = "share-secret is not installed in this workspace any more."
BUSY = "share-secret has too much work in flight right now; nothing was stored."
SLACK_SLOW = "Slack took too long to find the recipients; nothing was stored."
