"""`python -m benchmarks [--quick] [--only a,b]`: run the benchmark, print the table, save JSON."""

# ruff: noqa: S603, S607 - a benchmark that starts its own local processes

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("startup", "floor", "least", "bot", "overload", "snappass", "web", "storage", "memory",
         "sweep")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=(
        "share-secret's performance benchmark (issue 3): the bot against a framework floor, "
        "snappass and raw Redis, on this machine."))
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run (figures are not meaningful)")
    parser.add_argument("--only", help=f"comma-separated parts to run: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results",
                        help="directory for the JSON results (default: benchmarks/results)")
    parser.add_argument("--ref", help="benchmark the bot as committed at this git ref (e.g. "
                        "HEAD) instead of the working tree, which may be mid-change")
    parser.add_argument("--profile", action="store_true",
                        help="record every bot run with py-spy; stacks and a summary go "
                        "next to the JSON results")
    parser.add_argument("--sweep-stored", type=int, help="active secrets stored for the "
                        "sweep scenario (default 1,000,000; filling them takes minutes)")
    parser.add_argument("--report", type=Path, help="print the table of a saved results "
                        "JSON (targets re-checked) instead of running")
    parser.add_argument("--commit", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.report:
        from benchmarks.report import table, targets

        saved = json.loads(args.report.read_text())
        saved["targets"] = targets(saved)
        print(table(saved))
        return 0
    if args.ref:
        return _run_at_ref(args.ref, [a for a in (argv if argv is not None else sys.argv[1:])
                                      if a != args.ref and not a.startswith("--ref")],
                           out=args.out.resolve())
    only = None
    if args.only:
        only = {p.strip() for p in args.only.split(",") if p.strip()}
        unknown = only - set(PARTS)
        if unknown:
            parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # Imported here: with --ref, the bot of the working tree (perhaps mid-change) is
    # never imported.
    from benchmarks.report import table
    from benchmarks.suite import Suite

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    profile_dir = (args.out / f"{stamp}-profiles").resolve() if args.profile else None
    path = args.out / f"{stamp}{'-quick' if args.quick else ''}.json"
    suite = Suite(quick=args.quick, only=only, log=log, profile_dir=profile_dir,
                  checkpoint_path=path, sweep_stored=args.sweep_stored)
    suite.results["bot_version"] = args.commit or _describe_tree()
    results = suite.run()
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(table(results))
    print(f"\nresults: {path}")
    return 0


def _describe_tree() -> str:
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=repo,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _run_at_ref(ref: str, rest: list[str], *, out: Path) -> int:
    """Export `ref` to a scratch directory, add this benchmark package, run it there."""
    repo = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=repo, check=True,
                            capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix=f"share-secret-{commit}-") as scratch:
        archive = subprocess.run(["git", "archive", commit], cwd=repo, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
        shutil.rmtree(Path(scratch) / "benchmarks", ignore_errors=True)
        shutil.copytree(repo / "benchmarks", Path(scratch) / "benchmarks",
                        ignore=shutil.ignore_patterns("results", "__pycache__"))
        print(f"benchmarking {ref} ({commit}) from {scratch}", file=sys.stderr, flush=True)
        return subprocess.run([sys.executable, "-m", "benchmarks", *rest, "--out", str(out),
                               "--commit", commit], cwd=scratch, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
