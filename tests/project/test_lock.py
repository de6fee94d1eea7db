"""requirements/*.txt, the hashed lock files every install uses, are in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)\s*(?:;\s*(.*?))?\s*\\?$")


def _pins(name: str) -> dict[str, str]:
    """{canonical name: version} for every `name==version` line of a lock file."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _entries(name: str) -> list[str]:
    """Each requirement of a lock file as one string, continuation lines joined."""
    text = (ROOT / "requirements" / name).read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line and not line.lstrip().startswith("#")]


def _wanted(groups: list[str | None]) -> list[Requirement]:
    wanted = [Requirement(r) for r in PROJECT["dependencies"]] if None in groups else []
    for group in groups:
        if group is not None:
            wanted += [Requirement(r) for r in PROJECT["optional-dependencies"][group]]
    env = default_environment()
    return [r for r in wanted if r.marker is None or r.marker.evaluate(env)]


@pytest.mark.parametrize(("lock", "groups"), [
    ("dev.txt", [None, "test", "bench"]),
    ("runtime.txt", [None]),
])
def test_every_dependency_is_pinned_within_its_range(lock: str, groups: list[str | None]):
    """A dependency added to pyproject.toml without `make upgrade` fails here, not in CI."""
    pins = _pins(lock)
    for requirement in _wanted(groups):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements/{lock}: make upgrade"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, outside {requirement.specifier}")


@pytest.mark.parametrize("lock", ["dev.txt", "runtime.txt"])
def test_every_pin_is_exact_and_hashed(lock: str):
    """pip's --require-hashes refuses anything else; this says which line is wrong."""
    for entry in _entries(lock):
        assert "==" in entry, entry
        assert "--hash=sha256:" in entry, entry


def test_runtime_and_dev_agree():
    """The image runs the same versions that the tests ran against."""
    dev, runtime = _pins("dev.txt"), _pins("runtime.txt")
    differ = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differ, f"runtime.txt and dev.txt disagree (runtime, dev): {differ}"
