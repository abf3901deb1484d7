#!/usr/bin/env python3
"""When is a delta not worth it: N new files built as a delta, then the same tree in full.

    python scripts/bench_delta.py /tmp/bench/lib100k
    python scripts/bench_delta.py /tmp/lib --cases 100x1,1000x10     # a quick look

In-process, on an existing library (``scripts/make_library.py DIR --files N
--empty``): a cold scan into a temp cache, then for each case, N new empty
files in F new folders under ``ROOT/BE`` made known by one targeted scan
(``paths=["BE"]``) built as a delta (the size limit lifted: the delta itself
is measured), then the same tree built in full (``run_scan(full=True)``);
``BE`` is removed and scanned away before the next case. The two columns of
a row run back to back. Prints the Markdown table of docs/BENCHMARKS.md,
"Delta or full build".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan import build
from mediasrv.scan.job import run_scan

CASES = "100x1,1000x1,1000x100,5000x1,5000x500,20000x1,20000x1000,50000x500"
FOLDER = "BE"


def case(root: Path, cache: CacheDir, files: int, folders: int) -> tuple[float, float]:
    """(delta seconds, full build seconds) for ``files`` new files in ``folders`` folders."""
    for i in range(files):
        path = root / FOLDER / f"f{i % folders}" / f"x{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    try:
        started = time.perf_counter()
        delta = run_scan(root, cache, paths=[FOLDER])
        delta_s = time.perf_counter() - started
        if delta.mode != "delta":
            raise SystemExit(f"bench_delta: {files} new files were built {delta.mode}")
        started = time.perf_counter()
        run_scan(root, cache, full=True)
        full_s = time.perf_counter() - started
    finally:
        shutil.rmtree(root / FOLDER)
        run_scan(root, cache, paths=[FOLDER])
    return delta_s, full_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="an existing library (left as it was found)")
    parser.add_argument("--cases", default=CASES,
                        help=f"NEWxFOLDERS, comma-separated (default {CASES})")
    args = parser.parse_args(argv)
    if (args.root / FOLDER).exists():
        print(f"bench_delta: {args.root / FOLDER} exists; it is this script's", file=sys.stderr)
        return 2
    cases = [tuple(int(n) for n in c.split("x")) for c in args.cases.split(",")]
    build.DELTA_MAX_SHARE = 10.0  # never fall back to a full build: measure the delta itself
    with tempfile.TemporaryDirectory(prefix="bench-delta-") as tmp:
        cache = CacheDir(Path(tmp) / "cache")
        run_scan(args.root, cache)
        load = os.getloadavg()[0]
        rows = [(n, f, *case(args.root, cache, n, f)) for n, f in cases]
    print(f"(in-process; {os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end)\n")
    print("| new files | in folders | delta | full build |")
    print("| --- | --- | --- | --- |")
    for n, f, delta_s, full_s in rows:
        print(f"| {n:,} | {f:,} | {delta_s:.2f} s | {full_s:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
