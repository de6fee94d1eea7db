"""The defaults of each workspace's external sharing policy (EXTERNAL_*), part of
bot.config.Settings; admins change them per workspace (`/share-secret admin policy`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.secrets.external import ExternalPolicy
from bot.workspaces.policy import parse_domains, parse_max_expiry


class ExternalSettings(BaseSettings):
    public_url: str | None = None  # bot.web.settings validates it
    external_sharing: bool | None = None  # None: on when PUBLIC_URL is set
    external_email_domains: Annotated[tuple[str, ...], NoDecode] = ()  # empty: any domain
    external_link_passphrase: bool = False
    external_max_expiry: str | None = None  # a duration like "3d"; None: the usual 30 days

    @property
    def external_sharing_default(self) -> bool:
        """Whether workspaces may share outside Slack unless their admins say otherwise."""
        return self.public_url is not None if self.external_sharing is None \
            else self.external_sharing

    @property
    def external_max_expiry_seconds(self) -> int | None:
        return parse_max_expiry(self.external_max_expiry) if self.external_max_expiry \
            else None

    @property
    def external_policy(self) -> ExternalPolicy:
        """The external sharing policy of a workspace whose admins changed nothing."""
        return ExternalPolicy(enabled=self.external_sharing_default,
                              allowed_domains=self.external_email_domains,
                              link_needs_passphrase=self.external_link_passphrase,
                              max_expiry_seconds=self.external_max_expiry_seconds)

    @field_validator("external_email_domains", mode="before")
    @classmethod
    def _email_domains(cls, value: Any) -> Any:
        domains = parse_domains(value if isinstance(value, str) else ",".join(value))
        if domains is None:
            raise ValueError("must be comma-separated domains such as example.com,vendor.com")
        return domains

    @field_validator("external_max_expiry", mode="before")
    @classmethod
    def _max_expiry(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None and parse_max_expiry(value) is None:
            raise ValueError("must be a duration from 5m to 30d, such as 3d or 12h")
        return value

    @model_validator(mode="after")
    def _external_needs_public_url(self) -> ExternalSettings:
        if self.external_sharing and self.public_url is None:
            raise ValueError("EXTERNAL_SHARING needs PUBLIC_URL (where people outside Slack "
                             "open their links)")
        return self
