"""Configuration: read from the environment, refused with one clear line when wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import load_settings
from bot.crypto import parse_keys
from bot.errors import ConfigError
from devtools.harness.bot_process import REPO
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_KEYS

VALID = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
         "ENCRYPTION_KEYS": TEST_KEYS}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment in an empty directory (so no .env is read by accident)."""
    for name in ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
                 "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SCOPES", "SLACK_REDIRECT_URI",
                 "REDIS_URL", "ENCRYPTION_KEYS", "AUDIT_CHANNEL_ID", "ADMIN_USER_IDS", "HOST",
                 "PORT", "LOG_LEVEL", "PUBLIC_URL", "TRUSTED_PROXIES"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def set_env(**values: str) -> None:
        for name, value in {**VALID, **values}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
    return set_env


def test_defaults(env):
    """With only the required values, the documented defaults apply."""
    env()
    settings = load_settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.redis_url.get_secret_value() == "redis://localhost:6379/0"
    assert settings.port == 3000
    assert not settings.socket_mode
    assert settings.encryption_keys == parse_keys(TEST_KEYS)
    assert settings.admin_user_ids == ()


def test_lists_and_api_url_are_parsed(env):
    """Comma-separated lists parse; the API base URL gains its trailing slash."""
    env(ADMIN_USER_IDS="U01, U02", SLACK_API_URL="http://127.0.0.1:8888/api",
        AUDIT_CHANNEL_ID="C0AUDIT", SLACK_APP_TOKEN="xapp-1-abc")
    settings = load_settings()
    assert settings.admin_user_ids == ("U01", "U02")
    assert settings.slack_api_url == "http://127.0.0.1:8888/api/"
    assert settings.socket_mode


def test_dotenv_file_is_read(env, tmp_path):
    """Values may come from a .env file in the working directory."""
    env(SLACK_BOT_TOKEN=None)
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nPORT=4000\n")
    settings = load_settings()
    assert settings.port == 4000
    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN


def test_oauth_settings_replace_the_bot_token(env):
    """Client id and secret instead of a bot token: OAuth mode, asking for the manifest's
    scopes unless SLACK_SCOPES says otherwise."""
    env(SLACK_BOT_TOKEN=None, SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET="shhh",
        SLACK_REDIRECT_URI="https://example.com/slack/oauth_redirect")
    settings = load_settings()
    assert settings.oauth
    assert settings.slack_scopes == ("commands", "chat:write", "im:write", "users:read")
    env(SLACK_BOT_TOKEN=None, SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET="shhh",
        SLACK_SCOPES="commands, chat:write")
    assert load_settings().slack_scopes == ("commands", "chat:write")
    env(SLACK_CLIENT_ID=None, SLACK_CLIENT_SECRET=None)
    assert not load_settings().oauth


@pytest.mark.parametrize(("changes", "named"), [
    ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN is required"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token-secretvalue"}, "SLACK_BOT_TOKEN must be a bot token"),
    ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET is required in HTTP mode"),
    ({"SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN must be an app-level"),
    ({"ENCRYPTION_KEYS": None}, "ENCRYPTION_KEYS is required"),
    ({"ENCRYPTION_KEYS": "k1:c2VjcmV0dmFsdWU="}, "ENCRYPTION_KEYS entry 1: a key is exactly"),
    ({"REDIS_URL": "http://user:secretvalue@host"}, "REDIS_URL must start with redis://"),
    ({"SLACK_API_URL": "ftp://files"}, "SLACK_API_URL must be an http(s) URL"),
    ({"AUDIT_CHANNEL_ID": "#audit"}, "AUDIT_CHANNEL_ID must be a channel id"),
    ({"ADMIN_USER_IDS": "alice"}, "ADMIN_USER_IDS must be comma-separated user ids"),
    ({"PORT": "99999"}, "PORT"),
    ({"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "shhh-client-secret"},
     "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID"),
    ({"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "123.456"},
     "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together"),
    ({"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "123.456",
      "SLACK_CLIENT_SECRET": "shhh-client-secret", "AUDIT_CHANNEL_ID": "C0AUDIT"},
     "with OAuth each workspace sets its own"),
    ({"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "123.456",
      "SLACK_CLIENT_SECRET": "shhh-client-secret", "SLACK_APP_TOKEN": "xapp-1-abc"},
     "OAuth install flow needs HTTP mode"),
    ({"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "123.456",
      "SLACK_CLIENT_SECRET": "shhh-client-secret", "SLACK_REDIRECT_URI": "ftp://x"},
     "SLACK_REDIRECT_URI must be a URL"),
])
def test_bad_values_name_the_variable_never_the_value(env, changes, named):
    """Each missing or malformed value is named in one line that quotes no value."""
    env(**changes)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    for value in [*changes.values(), *VALID.values()]:
        if value and len(value) > 5:
            assert value not in message
    assert "secretvalue" not in message


def run_cli(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), **env}, cwd=cwd, timeout=30, check=False)


def test_start_up_with_bad_config_exits_2_with_one_line(tmp_path):
    """`python -m bot` with a malformed key stops with status 2 and one line, no value."""
    bad_keys = "k1:dGhpcy1pcy1ub3QtMzItYnl0ZXMtbG9uZw=="
    done = run_cli(env={**VALID, "ENCRYPTION_KEYS": bad_keys}, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "ENCRYPTION_KEYS" in lines[0]
    assert bad_keys.split(":")[1] not in done.stderr + done.stdout
    assert BOT_TOKEN not in done.stderr + done.stdout


def test_keygen_prints_a_usable_entry(tmp_path):
    """`python -m bot keygen` prints one fresh, valid ENCRYPTION_KEYS entry."""
    first = run_cli("keygen", env={}, cwd=tmp_path)
    second = run_cli("keygen", "--id", "prod-2026", env={}, cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    keys = parse_keys(first.stdout.strip() + "," + second.stdout.strip())
    assert keys[1].key_id == "prod-2026"
    assert keys[0].material != keys[1].material


def test_storage_quotas(env, monkeypatch):
    """The quota caps default to the documented values, take sizes with units, and refuse
    a negative or unreadable one naming the variable; each is in docs/configuration.md."""
    for name in ["QUOTA_SENDER_SECRETS", "QUOTA_SENDER_BYTES", "QUOTA_WORKSPACE_SECRETS",
                 "QUOTA_WORKSPACE_BYTES"]:
        monkeypatch.delenv(name, raising=False)
        assert f"`{name}`" in (REPO / "docs" / "configuration.md").read_text()
    env()
    caps = load_settings().quota_caps
    assert (caps.sender_secrets, caps.sender_bytes) == (200, 5 * 1024**2)
    assert (caps.workspace_secrets, caps.workspace_bytes) == (10_000, 200 * 1024**2)
    env(QUOTA_SENDER_BYTES="1MB", QUOTA_WORKSPACE_BYTES="0", QUOTA_SENDER_SECRETS="0")
    caps = load_settings().quota_caps
    assert (caps.sender_secrets, caps.sender_bytes, caps.workspace_bytes) == (0, 1_000_000, 0)
    for name, bad in [("QUOTA_SENDER_SECRETS", "-1"), ("QUOTA_WORKSPACE_BYTES", "lots")]:
        env(**{name: bad})
        with pytest.raises(ConfigError, match=name):
            load_settings()
        monkeypatch.delenv(name)


def test_metrics_access(env, monkeypatch):
    """METRICS_TOKEN is a secret of at least 16 characters (scrubbed from logs); empty
    means none; METRICS_PORT is a listener of its own, on loopback unless METRICS_HOST
    says otherwise; each is in docs/configuration.md."""
    from bot.telemetry.logs import secret_values

    for name in ["METRICS_TOKEN", "METRICS_PORT", "METRICS_HOST"]:
        monkeypatch.delenv(name, raising=False)
        assert f"`{name}`" in (REPO / "docs" / "configuration.md").read_text()
    env()
    settings = load_settings()
    assert (settings.metrics_token, settings.metrics_port) == (None, None)
    assert settings.metrics_host == "127.0.0.1"
    env(METRICS_TOKEN="0123456789abcdef", METRICS_PORT="9100")
    settings = load_settings()
    assert settings.metrics_port == 9100
    assert "0123456789abcdef" in secret_values(settings)
    assert "0123456789abcdef" not in repr(settings)
    env(METRICS_TOKEN="")
    assert load_settings().metrics_token is None
    env(METRICS_TOKEN="short")
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16") as refused:
        load_settings()
    assert "short" not in str(refused.value).replace("must be at least", "")
    monkeypatch.delenv("METRICS_TOKEN")
    env(METRICS_PORT="3000")
    with pytest.raises(ConfigError, match="METRICS_PORT must differ from PORT"):
        load_settings()


def test_public_url(env):
    """PUBLIC_URL is an http(s) origin with an optional path prefix, kept without its
    trailing slash; its origin is what browsers send as Origin. Unset or empty: no pages."""
    env()
    assert load_settings().public_url is None
    env(PUBLIC_URL="")
    assert load_settings().public_url is None
    env(PUBLIC_URL="https://Secrets.Example.com/")
    settings = load_settings()
    assert settings.public_url == "https://Secrets.Example.com"
    assert settings.public_origin == "https://secrets.example.com"
    env(PUBLIC_URL="https://example.com:443/share/")
    settings = load_settings()
    assert settings.public_url == "https://example.com:443/share"
    assert settings.public_origin == "https://example.com"
    env(PUBLIC_URL="http://[::1]:8080")
    assert load_settings().public_origin == "http://[::1]:8080"


@pytest.mark.parametrize("bad", [
    "share.example.org", "ftp://example.com", "https:///share", "https://user:pw@example.com",
    "https://example.com/?q=1", "https://example.com/#x", "https://example.com:99999",
    "https://example.com:port", "https://exa mple.com"])
def test_public_url_refused(env, bad):
    env(PUBLIC_URL=bad)
    with pytest.raises(ConfigError, match="PUBLIC_URL must be an http") as refused:
        load_settings()
    assert bad not in str(refused.value)


def test_trusted_proxies(env):
    """TRUSTED_PROXIES: comma-separated CIDRs or single addresses; none by default; a
    malformed one is refused naming the variable."""
    import ipaddress

    env()
    assert load_settings().trusted_proxies == ()
    env(TRUSTED_PROXIES=" 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,")
    assert load_settings().trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("2001:db8::/32"))
    for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0.1-10.0.0.9"]:
        env(TRUSTED_PROXIES=bad)
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be comma-separated"):
            load_settings()
