#!/usr/bin/env python3
"""No-change rescans at normal priority beside ``find``, run after run, for a loaded machine.

    python scripts/bench_rescan.py LIB CACHE [--runs 5] [--against /work/main]

``bench_cold.py`` measures rescans through the server, whose scan process
runs at ``SCHED_IDLE``: on a machine that others keep busy it gets only the
scraps, and its figures say more about them than about the scan. Here each
round runs ``find ROOT -printf '%s %T@ %p\\n'``, then, in one fresh process
at normal priority (as ``find``), two ``run_scan`` of the indexed library
``LIB`` (cache ``CACHE``, indexed beforehand by ``mediasrv scan``): the
first reads the current rows, the second is the server's next rescan of
the same generation. ``--against`` adds the same from another checkout
(``PYTHONPATH``), e.g. main. Medians of wall and CPU seconds (the scan
process and its walkers) and each one's ratio to ``find`` in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCANS = """
import json, resource, sys, time
from pathlib import Path
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
out = []
for _ in range(2):
    cpu = [sum(resource.getrusage(w)[:2]) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN)]
    t = time.perf_counter()
    result = run_scan(Path(sys.argv[1]), CacheDir(Path(sys.argv[2])))
    wall = time.perf_counter() - t
    now = [sum(resource.getrusage(w)[:2]) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN)]
    out.append([wall, now[0] - cpu[0] + now[1] - cpu[1], result.status])
print(json.dumps(out))
"""


def time_find(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["find", str(root), "-printf", "%s %T@ %p\n"], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def scans(root: Path, cache: Path, pythonpath: str) -> list[list[float | str]]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    out = subprocess.run(  # in the checkout: `python -c` imports from the cwd first
        [sys.executable, "-c", SCANS, str(root.resolve()), str(cache.resolve())],
        env=env,
        cwd=pythonpath,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    runs: list[list[float | str]] = json.loads(out)
    if any(status != "unchanged" for *_, status in runs):
        raise SystemExit(f"a rescan found changes: {runs}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("cache", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", help="another checkout's path (PYTHONPATH), e.g. main")
    args = parser.parse_args(argv)
    here = str(Path(__file__).resolve().parent.parent)
    checkouts = {"this": here, **({"against": args.against} if args.against else {})}
    rows: dict[str, list[float]] = {}
    time_find(args.root)  # a warm dentry cache
    for _ in range(args.runs):
        find_s = time_find(args.root)
        rows.setdefault("find", []).append(find_s)
        for name, path in checkouts.items():
            for which, (wall, cpu, _) in zip(
                ("first", "kept"), scans(args.root, args.cache, path), strict=True
            ):
                for what, value in (("wall", wall), ("cpu", cpu), ("x", float(wall) / find_s)):
                    rows.setdefault(f"{name} {which} {what}", []).append(float(value))
    print(f"load average {os.getloadavg()}, {args.runs} rounds, medians:")
    for key, values in rows.items():
        print(
            f"  {key:24} {statistics.median(values):6.2f}   (all: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
