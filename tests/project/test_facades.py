"""The package facades the benchmarks import through (bot.secrets, bot.audit) resolve every
name in their `__all__`, and cost the layers below nothing: storage reads bot.audit.owed and
render reads bot.secrets.limits, so importing those first must not pull the facades' names
(and with them storage and render again) in half-way."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

FACADES = ("bot.secrets", "bot.audit")


@pytest.mark.parametrize("name", FACADES)
def test_every_name_a_facade_lists_resolves(name):
    facade = importlib.import_module(name)
    assert facade.__all__
    for exported in facade.__all__:
        assert getattr(facade, exported).__name__ == exported


@pytest.mark.parametrize("first", ["bot.storage", "bot.render", "bot.audit.owed",
                                   "bot.secrets.limits", "bot.audit", "bot.secrets"])
def test_the_facades_import_after_any_layer_in_a_fresh_interpreter(first):
    imports = "; ".join(f"from {name} import *" for name in FACADES)
    subprocess.run([sys.executable, "-c", f"import {first}; {imports}"], check=True)
