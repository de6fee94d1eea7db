"""The soak's table and its JSON result."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scripts.soak.run import Result


def table(result: Result) -> str:
    ledger = result.ledger
    lines = [f"share-secret soak: {result.seconds:.0f} s, {result.clients} clients", "",
             "Operations"]
    total = sum(ledger.operations.values())
    lines += [f"  {name:<32} {count:>7}" for name, count in ledger.operations.most_common()]
    lines += [f"  {'all':<32} {total:>7}", "", "Shares"]
    outcomes: dict[str, int] = {}
    for share in ledger.shares.values():
        outcomes[share.outcome] = outcomes.get(share.outcome, 0) + 1
    lines += [f"  {name:<32} {count:>7}" for name, count in sorted(outcomes.items())]
    lines += ["", "Errors people saw (by operation and message)"]
    lines += [f"  {count:>6}  {op}: {message}" for (op, message), count
              in ledger.errors.most_common()] or ["  none"]
    lines += ["", "Faults injected"]
    start = ledger.events[0][0] if ledger.events else time.time()
    lines += [f"  +{at - start:6.1f} s  {what}" for at, what in ledger.events]
    lines += [f"  chaos step failed: {f}" for f in result.chaos_failures]
    lines += ["", f"Settling: {result.settled}", "", "Invariants"]
    for invariant in result.invariants:
        verdict = "ok" if invariant.ok else "FAIL"
        lines.append(f"  {invariant.name:<44} {invariant.violations:>6}  {verdict}")
        lines += [f"      {detail}" for detail in invariant.details[:10]]
    lines += ["", "PASS" if result.ok else "FAIL"]
    return "\n".join(lines)


def as_json(result: Result) -> dict[str, Any]:
    ledger = result.ledger.to_json()
    return {
        "seconds": round(result.seconds, 1), "clients": result.clients, "ok": result.ok,
        "operations": ledger["operations"], "errors": ledger["errors"],
        "faults": ledger["events"], "chaos_failures": result.chaos_failures,
        "settled": result.settled,
        "invariants": [{"name": i.name, "violations": i.violations, "details": i.details}
                       for i in result.invariants],
        "ledger": {k: ledger[k] for k in ("shares", "clicks", "revokes", "admin_calls",
                                          "home_opens")},
    }


def write(result: Result, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(result), indent=1))
