"""The exception tree of share-secret.

Every error the bot raises on purpose derives from `ShareSecretError`, so a caller can
catch the domain's failures without swallowing programming errors. Messages never
contain secret material: they are safe to log.

    ShareSecretError
    ├── ConfigError            configuration missing or malformed (start-up stops)
    ├── InvalidToken           a ciphertext could not be authenticated or decrypted
    ├── NeedsPassphrase        a ciphertext only its passphrase can re-encrypt (rotation)
    ├── ValidationFailed       user input rejected; carries per-field messages
    │   ├── MissingScope       ... because the bot's Slack token lacks a scope it needs
    │   └── SlackUnreachable   ... because Slack could not be asked about it just now
    ├── FormatError            a JSON, YAML or .env secret is not valid; names the line
    ├── MalformedRequest       a body in a shape Slack or the reveal page never sends (400)
    ├── TooLarge               a request body past the size limit (answered 413)
    ├── StorageUnavailable     Redis could not be reached in time
    │   ├── ShareNotStored     ... while storing a new secret (to be withdrawn)
    │   └── ClaimInDoubt       ... while claiming a view (to be given back)
    ├── CodeTaken              a new secret's share code is in use (pick another)
    ├── Overloaded             too much work in flight; the request was not started
    ├── CannotVerify           Slack could not say in time whether someone is an admin
    ├── RateLimited            a person did something too often; carries when to retry
    ├── QuotaExceeded          a share would pass a storage cap; nothing was stored
    ├── NotShown               a secret was certainly not displayed (its view is given back)
    ├── MailUnavailable        the mail server could not be reached, or refused the mail
    └── ApiRefusal             an HTTP API request refused: an RFC 9457 problem (bot.api)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain import SecretRecord


class ShareSecretError(Exception):
    """Root of every error share-secret raises deliberately."""


class ConfigError(ShareSecretError):
    """A setting is missing or malformed; the message names the variable, never its value."""


class InvalidToken(ShareSecretError):
    """A ciphertext failed authentication, names an unknown key, or is malformed.

    One detail-free error for every kind of bad token, as Fernet does: telling the
    kinds apart would help an attacker more than an operator.
    """


class NeedsPassphrase(ShareSecretError):
    """A token of the old passphrase format (v2): its master-key layer cannot be
    re-encrypted without the passphrase, which the bot never keeps."""


class ValidationFailed(ShareSecretError):
    """User input was rejected; `errors` maps a form field (block id) to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("invalid input: " + ", ".join(sorted(errors)))
        self.errors = dict(errors)


class SlackUnreachable(ValidationFailed):
    """Slack could not be asked about the recipients right now (an error, a timeout):
    the share form shows it on the field; an API answers it as Slack being unavailable,
    to be retried (nothing was done)."""


class MissingScope(ValidationFailed):
    """Input the bot could act on only with a Slack scope its token lacks (Slack people
    named by email address need `users:read.email`): `errors` names the field and tells an
    admin what to add; `scope` is the scope. Not the caller's fault: an API answers it as
    a refusal of that field all the same (nothing was done)."""

    def __init__(self, errors: Mapping[str, str], *, scope: str) -> None:
        super().__init__(errors)
        self.scope = scope


class MalformedRequest(ShareSecretError):
    """A request body is not shaped as Slack's (or the reveal page's POSTs) are; the
    message names the field (a path such as `body.actions[0].value`), never a value."""


class StorageUnavailable(ShareSecretError):
    """The secret store could not be reached; nothing was changed."""


class ShareNotStored(StorageUnavailable):
    """Storing a new secret failed; the write may still land when Redis answers again,
    so the caller withdraws `record` once it can (see SharingService.withdraw)."""

    def __init__(self, record: SecretRecord) -> None:
        super().__init__("the secret store is unreachable; nothing was shared")
        self.record = record


class ClaimInDoubt(StorageUnavailable):
    """Claiming a view failed; the claim may still land when Redis answers again, so the
    caller gives it back once it can (see SharingService.give_back)."""

    def __init__(self, secret_id: str, user_id: str, claimed_at: float) -> None:
        super().__init__("the secret store is unreachable; nothing was revealed")
        self.secret_id = secret_id
        self.user_id = user_id
        self.claimed_at = claimed_at
class RateLimited(ShareSecretError):
    """Someone reached a rate limit; nothing was done. `retry_after` is in seconds."""

    def __init__(self, action: str, *, retry_after: int, limit: int, window: int) -> None:
        super().__init__(f"rate limited: {action}")
        self.action = action
        self.retry_after = retry_after
        self.limit = limit
        self.window = window


class QuotaExceeded(ShareSecretError):
    """A share would pass a storage cap; nothing was stored. `scope` is "sender" or
    "workspace", `limit` "secrets" or "bytes"; `cap` is that cap, and `held_secrets` and
    `held_bytes` what the scope holds now (the bytes include ended secrets' metadata,
    counted for the `kept_days` it is kept)."""

    def __init__(self, scope: str, limit: str, *, cap: int, held_secrets: int,
                 held_bytes: int, kept_days: int = 0) -> None:
        super().__init__(f"quota reached: {scope} {limit}")
        self.scope = scope
        self.limit = limit
        self.cap = cap
        self.held_secrets = held_secrets
        self.held_bytes = held_bytes
        self.kept_days = kept_days


class NotShown(ShareSecretError):
    """Showing a secret failed in a way that proves nobody saw it (Slack refused the
    modal before opening it); any other failure may have shown it."""


class FormatError(ShareSecretError):
    """The text is not valid in the chosen format; the message names the line (for the
    sender's eyes only: it can quote what was typed, so it is never logged)."""


class TooLarge(ShareSecretError):
    """A request body is larger than the bot reads; answered 413."""


class CodeTaken(ShareSecretError):
    """The share code is already in use (vanishingly rare: pick another)."""


class Overloaded(ShareSecretError):
    """Too much work in flight; the request was not started."""


class CannotVerify(ShareSecretError):
    """Slack could not say in time whether this person is a workspace admin."""


class MailUnavailable(ShareSecretError):
    """Mail could not be handed to the SMTP server (unreachable, too slow, TLS or login
    refused, or the message refused). The message names the server (host:port) and what
    failed, with the server's reply code when there is one; never the password, an
    address or anything of the mail."""


class ApiRefusal(ShareSecretError):
    """An HTTP API request refused, answered as an RFC 9457 problem. `kind` names its
    stable problem type (bot.api.problems), `detail` is for the client (never a value it
    sent), `errors` lists bad fields as {"field": ..., "detail": ...}."""

    def __init__(self, kind: str, detail: str, *,
                 errors: Sequence[Mapping[str, str]] = (),
                 retry_after: int | None = None, allow: str | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail
        self.errors = [dict(e) for e in errors]
        self.retry_after = retry_after
        self.allow = allow
