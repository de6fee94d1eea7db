"""Performance benchmark of share-secret against a framework floor, a peer and Redis itself.

`python -m benchmarks` (or `make bench`) runs every scenario and prints a table;
see docs/benchmarks.md for what is measured and why.
"""
