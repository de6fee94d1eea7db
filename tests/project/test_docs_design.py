"""The design tree in docs/how-it-works.md names every module and package under bot/, and
nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "how-it-works.md"


def _tree() -> str:
    text = PAGE.read_text()
    start = text.index("## Design")
    block = re.search(r"```\n(bot/\n.*?)```", text[start:], re.S)
    assert block, "no design tree under ## Design"
    return block.group(1)


def _named(tree: str) -> tuple[set[str], set[str]]:
    """The paths the tree names, and the packages it lists module by module (a package
    named on one line with a description, e.g. render/, is described as a whole)."""
    named: set[str] = set()
    listed: set[str] = set()
    package = ""
    for line in tree.splitlines()[1:]:
        match = re.match(r"^  (\s*)(\w+(?:\.py|/))\s", line + " ")
        if not match:
            continue
        indent, name = match.groups()
        if not indent:
            package = name if name.endswith("/") else ""
            named.add(name)
        elif package and indent == "  ":  # deeper lines continue a description
            named.add(package + name)
            listed.add(package)
    return named, listed


def _modules() -> set[str]:
    return {str(p.relative_to(ROOT / "bot")) for p in (ROOT / "bot").rglob("*.py")
            if p.name != "__init__.py" and "__pycache__" not in p.parts}


def test_the_design_tree_names_every_module():
    named, listed = _named(_tree())
    actual = _modules()
    packages = {str(p.relative_to(ROOT / "bot")) + "/" for p in (ROOT / "bot").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted((packages - named)
                     | {m for m in actual if "/" not in m and m not in named}
                     | {m for m in actual if "/" in m and m.split("/")[0] + "/" in listed
                        and m not in named})
    assert not missing, f"add to the design tree in docs/how-it-works.md: {missing}"
    ghosts = sorted(n for n in named if n.endswith(".py") and n not in actual)
    assert not ghosts, f"the design tree names modules that do not exist: {ghosts}"
