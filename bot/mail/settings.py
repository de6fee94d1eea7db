"""Mail settings (SMTP_URL, MAIL_FROM), part of bot.config.Settings."""

from __future__ import annotations

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from bot.mail.address import parse_address
from bot.mail.smtp_url import SmtpEndpoint, parse_smtp_url


class MailSettings(BaseSettings):
    # Mail, for recipients outside Slack: SMTP_URL may carry user:password (bot.mail.smtp_url).
    smtp_url: SecretStr | None = None
    mail_from: str | None = None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_smtp_url(value.get_secret_value())  # its errors never quote the URL
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return str(parse_address(value))

    @property
    def smtp(self) -> SmtpEndpoint | None:
        """Where mail goes, parsed from SMTP_URL; None when mail is not configured."""
        if self.smtp_url is None:
            return None
        return parse_smtp_url(self.smtp_url.get_secret_value())

    @model_validator(mode="after")
    def _mail_needs_a_sender(self) -> MailSettings:
        if self.smtp_url is not None and self.mail_from is None:
            raise ValueError("MAIL_FROM is required when SMTP_URL is set: the address the "
                             "bot's mail comes from, such as share-secret@example.com")
        return self
