"""Handlers stay thin: no listener (a module with register) imports another listener;
a flow two surfaces share lives in a module of its own."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).parents[2] / "bot" / "handlers"


def _listeners() -> set[str]:
    return {p.stem for p in HANDLERS.glob("*.py") if p.name != "__init__.py"
            and any(isinstance(node, ast.FunctionDef) and node.name == "register"
                    for node in ast.parse(p.read_text()).body)}


def _imported_handlers(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "bot.handlers":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.handlers."):
            found.add(node.module.split(".")[2])
    return found


def test_no_listener_imports_another_listener():
    listeners = _listeners()
    assert {"command", "reveal", "share_modal"} <= listeners
    crossing = {name: sorted(_imported_handlers(HANDLERS / f"{name}.py") & listeners - {name})
                for name in listeners}
    assert not {k: v for k, v in crossing.items() if v}, crossing
