"""python -m scripts.soak [--minutes 10 | --short] [--clients 6] [--json PATH]"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scripts.soak.chaos import Plan
from scripts.soak.report import table, write
from scripts.soak.run import soak

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--short", action="store_true",
                        help="50 s, one Redis restart, one bot kill (what CI runs)")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the result (default scripts/soak/results/)")
    args = parser.parse_args(argv)
    seconds = 50.0 if args.short else args.minutes * 60
    plan = Plan.short() if args.short else Plan.full()
    path = args.json or RESULTS / time.strftime("%Y%m%d-%H%M%S.json", time.gmtime())
    result = soak(seconds=seconds, clients=args.clients, plan=plan, seed=args.seed,
                  failed_log=path.with_suffix(".bot.log"))
    print(table(result))
    write(result, path)
    print(f"\nresult written to {path}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
