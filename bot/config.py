"""Configuration, read once at the entry point from the environment and an optional `.env`.

Nothing else in the bot reads the environment: the entry point passes the fields
down. Secret values are `SecretStr`, and no error message ever quotes a value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    ByteSize,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from bot.crypto import MasterKey, parse_keys
from bot.errors import ConfigError
from bot.mail.settings import MailSettings
from bot.secrets.limits import Rate, parse_rate
from bot.storage.quota import Caps
from bot.storage.redis_url import parse_redis_url
from bot.web.settings import WebSettings
from bot.workspaces.external_settings import ExternalSettings

SLACK_API_URL = "https://slack.com/api/"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# The bot scopes of manifest.yml: what an OAuth install asks for unless SLACK_SCOPES says.
MANIFEST_SCOPES = ("commands", "chat:write", "im:write", "users:read")


class Settings(WebSettings, MailSettings, ExternalSettings):
    """Every setting, named as its environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False,
                                      hide_input_in_errors=True)

    slack_bot_token: SecretStr | None = None  # one workspace; or the OAuth settings below
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_URL
    redis_cluster: bool = False  # before redis_url: its check reads this
    redis_url: SecretStr = SecretStr("redis://localhost:6379/0")  # may carry a password
    redis_key_prefix: str = Field(default="ss", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    encryption_keys: Annotated[tuple[MasterKey, ...], NoDecode]
    audit_channel_id: str | None = None
    admin_user_ids: Annotated[tuple[str, ...], NoDecode] = ()
    admins_include_workspace_admins: bool = False
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces  # nosec B104
    port: int = Field(default=3000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1, le=64)  # uvicorn worker processes
    # Who may read /metrics (and /readyz's reason): with METRICS_TOKEN, whoever sends it as
    # a bearer token, on either port; on METRICS_HOST:METRICS_PORT, a listener of its own
    # that serves only /metrics, /readyz and /healthz. Neither: /metrics is not served.
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    metadata_retention_days: int = Field(default=90, ge=1, le=3650)
    audit_retention_days: int = Field(default=365, ge=1, le=3650)
    audit_post_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    max_in_flight: int = Field(default=1000, ge=1, le=100_000)
    sweep_interval_seconds: float = Field(default=30, ge=0, le=3600)  # 0: no sweeps here
    # COUNT/SECONDS per person and workspace, or "off" (bot.secrets.limits says why).
    share_limit: str = "30/600"
    reveal_attempt_limit: str = "60/600"
    request_limit: str = "10/600"  # `/share-secret request` commands (each asks <= 10)
    # Refusals audited one by one per person (the rest are counted: bot.audit.refusals).
    refusal_audit_limit: str = "10/60"
    api_limit: str = "600/60"  # HTTP API requests per token, shared by every replica
    # A reveal confirms its view within seconds; one unconfirmed for longer was handed
    # out by a process that died, and the sweep gives it back.
    claim_timeout_seconds: float = Field(default=120, ge=1, le=3600)
    # Storage quotas: active secrets, and the bytes they take in Redis, per sender and per
    # workspace (0: no cap). Why these defaults: docs/how-it-works.md, "Storage quotas".
    quota_sender_secrets: int = Field(default=200, ge=0, le=10_000_000)
    quota_sender_bytes: Annotated[ByteSize, Field(ge=0)] = ByteSize(5 * 1024**2)
    quota_workspace_secrets: int = Field(default=10_000, ge=0, le=10_000_000)
    quota_workspace_bytes: Annotated[ByteSize, Field(ge=0)] = ByteSize(200 * 1024**2)
    log_level: str = Field(default="INFO", pattern=r"^(?i:debug|info|warning|error)$")
    log_format: str = Field(default="auto", pattern=r"^(?i:auto|json|text)$")
    # prometheus_client's own variable: where worker processes keep their metrics (the
    # server sets one up by itself when it is not given; see bot.__main__).
    prometheus_multiproc_dir: str | None = None
    # OAuth (several workspaces install the app): instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: Annotated[tuple[str, ...], NoDecode] = MANIFEST_SCOPES
    slack_redirect_uri: str | None = None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Whether workspaces install the app through OAuth (else one bot token serves)."""
        return self.slack_bot_token is None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (it starts with xoxb-)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (it starts with xapp-)")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. from `openssl rand -hex 16`)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # WebClient joins method names onto the base URL: it needs the trailing slash.
        return value if value.endswith("/") else value + "/"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        # Raises ValueError with a message that never quotes the URL.
        parse_redis_url(value.get_secret_value(), cluster=info.data.get("redis_cluster", False))
        return value

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_keys(value)
        return value

    @field_validator("share_limit", "reveal_attempt_limit", "request_limit",
                     "refusal_audit_limit", "api_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def share_rate(self) -> Rate | None:
        return parse_rate(self.share_limit)

    @property
    def reveal_rate(self) -> Rate | None:
        return parse_rate(self.reveal_attempt_limit)

    @property
    def quota_caps(self) -> Caps:
        return Caps(sender_secrets=self.quota_sender_secrets,
                    sender_bytes=int(self.quota_sender_bytes),
                    workspace_secrets=self.quota_workspace_secrets,
                    workspace_bytes=int(self.quota_workspace_bytes))

    @property
    def request_rate(self) -> Rate | None:
        return parse_rate(self.request_limit)

    @property
    def refusal_audit_rate(self) -> Rate | None:
        return parse_rate(self.refusal_audit_limit)

    @property
    def api_rate(self) -> Rate | None:
        return parse_rate(self.api_limit)

    @field_validator("audit_channel_id", mode="before")
    @classmethod
    def _audit_channel(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None and not _CHANNEL_ID.fullmatch(value):
            raise ValueError("must be a channel id such as C0123456789")
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if any(not _USER_ID.fullmatch(v) for v in value):
            raise ValueError("must be comma-separated user ids such as U0123456789")
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if not value or any(not re.fullmatch(r"[a-z:.]+", v) for v in value):
            raise ValueError("must be comma-separated scopes such as commands,chat:write")
        return value

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be a URL such as https://example.com/slack/oauth_redirect")
        return value

    @model_validator(mode="after")
    def _one_way_to_authorize(self) -> Settings:
        # Refused rather than guessed: Bolt would pick one of them by itself, silently.
        oauth = bool(self.slack_client_id or self.slack_client_secret)
        if oauth and self.slack_bot_token is not None:
            raise ValueError("set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID "
                             "and SLACK_CLIENT_SECRET (OAuth, several workspaces), not both")
        if not oauth and self.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is required (or SLACK_CLIENT_ID and "
                             "SLACK_CLIENT_SECRET to install in several workspaces)")
        if oauth and not (self.slack_client_id and self.slack_client_secret):
            raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together: set both")
        if oauth and self.socket_mode:
            raise ValueError("the OAuth install flow needs HTTP mode: unset SLACK_APP_TOKEN")
        if oauth and (self.audit_channel_id or self.admin_user_ids):
            raise ValueError("AUDIT_CHANNEL_ID and ADMIN_USER_IDS name one workspace's channel "
                             "and people; with OAuth each workspace sets its own "
                             "(/share-secret admin channel, admin add): unset them")
        return self

    @model_validator(mode="after")
    def _metrics_listener(self) -> Settings:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("METRICS_PORT must differ from PORT (it is a listener of its own)")
        return self

    @model_validator(mode="after")
    def _http_mode_needs_signing_secret(self) -> Settings:
        if not self.socket_mode and self.slack_signing_secret is None:
            raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode "
                             "(or set SLACK_APP_TOKEN for Socket Mode)")
        return self


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; raise ConfigError with one line naming what is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line per problem, naming variables and never quoting their values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required but not set"
        problems.append(f"{name} {message}" if name else message)
    return "; ".join(problems)
