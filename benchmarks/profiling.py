"""py-spy around a run: where a server process spends its CPU.

`python -m benchmarks --profile` records every bot run with py-spy (sampling from
outside the process, `--nonblocking`, so the bot is not paused) and keeps, per run,
the collapsed stacks and a summary: the share of samples in which each function is on
the stack (inclusive) and on top of it (self).
"""

# ruff: noqa: S603 - a benchmark that starts its own local processes

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 250  # samples per second


def py_spy() -> str | None:
    import sys

    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def start(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", str(RATE),
                             "--nonblocking", "--format", "raw", "--output", str(out),
                             "--duration", str(max(1, round(seconds)))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(raw: Path, *, top: int = 40) -> dict[str, Any]:
    """Inclusive and self shares of samples per function, from py-spy's raw output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return {"samples": 0}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "inclusive": [[round(100 * n / total, 1), f] for f, n in inclusive.most_common(top)],
        "self": [[round(100 * n / total, 1), f] for f, n in own.most_common(top)],
    }


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    for anchor in ("site-packages", "bot", "benchmarks", "python3.11"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + (1 if anchor != "bot" else 0):]
            break
    return f"{name} ({'/'.join(parts[-3:])})"
