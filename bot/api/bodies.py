"""The body of `POST /api/v1/secrets`: its shape, checked by pydantic (strict: no string
is taken for a number), then turned into the share form the Slack flow fills in, so the
same rules (bot.secrets.share_form, the workspace's policy) decide what is valid.

The models are also the request schema of the OpenAPI document (bot.api.openapi).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.api.problems import refusal
from bot.domain import (
    MAX_LABEL_CHARS,
    MAX_PASSPHRASE_CHARS,
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    Audience,
    ShareForm,
)
from bot.errors import ApiRefusal
from bot.options import MAX_EXPIRY_SECONDS, MAX_TOTAL_VIEWS, MIN_EXPIRY_SECONDS, ViewMode
from bot.render import api as words

_STRICT = ConfigDict(extra="forbid", strict=True)


Address = Annotated[str, Field(min_length=1, max_length=254)]
People = Annotated[list[Address], Field(min_length=1, max_length=MAX_RECIPIENTS)]


class AudienceBody(BaseModel):
    """Who may open it: exactly one of `link`, `emails` or `slack_users`."""

    model_config = _STRICT
    link: Literal[True] | None = Field(None, description="Anyone with the link (the URL in "
                                                         "the answer).")
    emails: People | None = Field(None, description="People by email address: each proves "
                                                    "it with a one-time code mailed to it.")
    mail: bool = Field(True, description="With `emails`: mail the link to each address.")
    slack_users: People | None = Field(None, description=(
        "People in the workspace, by Slack user id or email address: they get a Reveal "
        "button in Slack, as with /share-secret."))

    @model_validator(mode="after")
    def _one_audience(self) -> AudienceBody:
        chosen = [self.link is not None, self.emails is not None, self.slack_users is not None]
        if sum(chosen) != 1:
            raise ValueError(words.ONE_AUDIENCE)
        return self


Duration = Annotated[str, Field(pattern=r"^\s*\d{1,6}\s*[a-zA-Z]+\s*$",
                                examples=["45m", "12h", "3d"])]


class CreateSecret(BaseModel):
    """A secret to share."""

    model_config = _STRICT
    secret: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_CHARS)]
    audience: AudienceBody
    format: Literal["text", "json", "yaml", "env"] = "text"
    label: Annotated[str, Field(max_length=MAX_LABEL_CHARS)] | None = None
    expires_in: Annotated[int, Field(ge=MIN_EXPIRY_SECONDS, le=MAX_EXPIRY_SECONDS)] \
        | Duration = Field(86400, description="Seconds, or a duration such as 45m, 12h, 3d.")
    views: Annotated[int, Field(ge=1, le=MAX_TOTAL_VIEWS)] | Literal["each", "unlimited"] = \
        Field("each", description="A number of views in all, `each` (each recipient once) "
                                  "or `unlimited` (until it expires).")
    passphrase: Annotated[str, Field(max_length=MAX_PASSPHRASE_CHARS)] | None = None
    receipts: bool = Field(True, description="Tell the token's receipts channel or person "
                                             "when it is opened.")


# The share form's field names (the Slack modal's) as the API calls them.
API_FIELDS = {"secret": "secret", "recipients": "audience.slack_users", "emails": "audience.emails",
              "expiry": "expires_in", "custom_expiry": "expires_in", "views": "views",
              "total_views": "views", "format": "format", "label": "label",
              "passphrase": "passphrase", "audience": "audience"}


def parse(payload: Any) -> CreateSecret:
    """The body, checked; ApiRefusal (invalid-request) naming each bad field."""
    try:
        return CreateSecret.model_validate(payload)
    except ValidationError as exc:
        raise refusal("invalid-request", errors=_fields(exc)) from None


def share_form(body: CreateSecret, *, team_id: str, sender_id: str,
               receipts_to: str | None) -> ShareForm:
    """The share form the Slack flow would have filled in; recipients for a Slack
    audience are set by the caller once looked up."""
    audience, emails, mail = Audience.LINK, None, False
    if body.audience.emails is not None:
        audience, emails, mail = Audience.EMAIL, "\n".join(body.audience.emails), \
            body.audience.mail
    elif body.audience.slack_users is not None:
        audience = Audience.WORKSPACE
    mode = ViewMode.TOTAL if isinstance(body.views, int) else \
        ViewMode.UNLIMITED if body.views == "unlimited" else ViewMode.EACH_ONCE
    expiry = body.expires_in
    return ShareForm(
        team_id=team_id, sender_id=sender_id, recipients=(), text=body.secret,
        custom_expiry=f"{-(-expiry // 60)}m" if isinstance(expiry, int) else expiry,
        view_mode=mode.value, total_views=str(body.views) if isinstance(body.views, int)
        else None, format=body.format, label=body.label, passphrase=body.passphrase,
        notify=body.receipts, audience=audience, emails=emails, mail_link=mail,
        receipts_to=receipts_to)


def invalid(errors: dict[str, str]) -> ApiRefusal:
    """A refusal from the share form's checks (keyed by the form's field names)."""
    return refusal("invalid-request", errors=[
        {"field": API_FIELDS.get(field, field), "detail": detail}
        for field, detail in sorted(errors.items())])


def _fields(exc: ValidationError) -> list[dict[str, str]]:
    """One message per field, named as the client wrote it (`audience.emails.0`)."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        if loc and loc[0] in words.EITHER_OR:
            # A union reports each alternative it tried; one sentence says them all.
            found.setdefault(str(loc[0]), words.EITHER_OR[str(loc[0])])
            continue
        field = ".".join(str(p) for p in loc) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        found.setdefault(field, message)
    return [{"field": f, "detail": d} for f, d in found.items()]
