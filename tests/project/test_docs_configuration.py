"""docs/configuration.md lists exactly the settings `bot.config.Settings` reads."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented_variables(text: str) -> set[str]:
    """The variables named in the first column of the page's settings table."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split(" | ")[0]))
    return names


def environment_variables() -> set[str]:
    """The variables Settings reads: each field's name in upper case (no prefix, no
    aliases: checked here, since either would change the names)."""
    assert Settings.model_config.get("env_prefix", "") == ""
    for name, field in Settings.model_fields.items():
        assert field.alias is None, name
        assert field.validation_alias is None, name
    return {name.upper() for name in Settings.model_fields}


def test_the_configuration_page_lists_exactly_the_settings():
    """Every setting has a row, and no row names a setting that does not exist."""
    documented = documented_variables(PAGE.read_text())
    actual = environment_variables()
    assert actual - documented == set(), "settings missing from docs/configuration.md"
    assert documented - actual == set(), "rows for settings that do not exist"
