#!/usr/bin/env python3
"""The timeline's months (issue 22): /api/months latency and what the months cost a build.

    python scripts/bench_months.py                      # 200k and 1M files
    python scripts/bench_months.py --sizes 200000 --calls 2000 --deltas 7
    python scripts/bench_months.py --quick              # 5k files, seconds (tests/test_bench.py)

For each size, in this one process: a library of empty files
(``benchlib.empty_library``) is made in a temp dir, every file's mtime is set
to a random time over ``--months`` months (os.utime), and then

1. a cold full build (``run_scan(root, cache, full=True)``), timing
   ``months.counts`` inside it by wrapping it (the months' added cost: a full
   build counts each tag's months chunk by chunk, ``dateorder.write_sorted``;
   reported as ``write_all``, its name before);
2. ``/api/months?tag=All`` in process, ``--calls`` times: the SqliteSnapshot's
   ``months`` plus ``with_offsets``, what the handler does besides JSON;
3. ``--deltas`` one-file deltas: a new file (mtime now) in a random folder,
   ``run_scan(root, cache, paths=[it])``, timing every ``months.update`` of
   that delta (summed per delta).

The temp dir (library and cache) is deleted afterwards, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import command_line, empty_library, machine, percentile

START = (2005, 1)  # the first month the mtimes are spread over
GOALS = {"p50_ms_200k": 5.0, "cold_pct": 5.0, "delta_ms": 5.0}


def month_start(year: int, month: int) -> float:
    """The first second of a month, local time (months are cut in the local zone)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return time.mktime((year, month, 1, 0, 0, 0, 0, 0, -1))


def spread_mtimes(root: Path, months: int, seed: int) -> int:
    """Every file under ``root`` to a random time over ``months`` months from START."""
    rng = random.Random(seed)
    lo, hi = month_start(*START), month_start(START[0], START[1] + months)
    n = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith("."):
                continue
            stamp = rng.uniform(lo, hi - 1)
            os.utime(os.path.join(folder, name), (stamp, stamp))
            n += 1
    return n


class Timed:
    """A module function wrapped so that its calls add up in ``seconds``."""

    def __init__(self, module: Any, name: str) -> None:
        self.module, self.name, self.fn = module, name, getattr(module, name)
        self.seconds = 0.0
        self.calls = 0

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return self.fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
        setattr(module, name, wrapper)

    def take(self) -> tuple[float, int]:
        out = (self.seconds, self.calls)
        self.seconds, self.calls = 0.0, 0
        return out


async def api_latency(db: Path, calls: int) -> dict[str, Any]:
    """``/api/months?tag=All`` minus HTTP: the snapshot's months and their offsets."""
    from mediasrv.index.months import with_offsets
    from mediasrv.snapshot import open_snapshot

    snap = await open_snapshot(db, "sqlite")
    try:
        found = with_offsets(await snap.months("All"))  # warm: the first call opens pages
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            with_offsets(await snap.months("All"))
            times.append(time.perf_counter() - started)
    finally:
        await snap.close()
    return {"calls": calls, "p50_ms": 1000 * percentile(times, 50),
            "p99_ms": 1000 * percentile(times, 99), "max_ms": 1000 * max(times),
            "months": len(found), "files": sum(int(m["count"]) for m in found)}


def measure(files: int, months_spread: int, calls: int, deltas: int, work: Path | None,
            seed: int) -> dict[str, Any]:
    from mediasrv.index import months
    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    tmp = Path(tempfile.mkdtemp(prefix="bench-months-", dir=work))
    write_all, update = Timed(months, "counts"), Timed(months, "update")
    try:
        root = tmp / "lib"
        started = time.perf_counter()
        empty_library(root, files)
        spread = spread_mtimes(root, months_spread, seed)
        folders = sorted({p for p, _, names in os.walk(root) if names})
        print(f"[bench_months] {spread:,} files in {len(folders):,} folders made in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        cache = CacheDir(tmp / "cache")
        started = time.perf_counter()
        cold = run_scan(root, cache, full=True)
        build_s = time.perf_counter() - started
        write_s, _ = write_all.take()
        print(f"[bench_months] cold build {build_s:.1f} s, write_all {write_s * 1000:.0f} ms",
              file=sys.stderr)
        latency = asyncio.run(api_latency(Path(cache.current), calls))
        rng = random.Random(seed)
        updates, delta_s = [], []
        update.take()
        for i in range(deltas):
            new = Path(rng.choice(folders)) / f"months-bench-{i}.jpg"
            new.touch()
            started = time.perf_counter()
            result = run_scan(root, cache, paths=[str(new.relative_to(root))])
            delta_s.append(time.perf_counter() - started)
            if result.mode != "delta":
                raise SystemExit(f"bench_months: delta {i} was built {result.mode}")
            seconds, n = update.take()
            if not n:
                raise SystemExit("bench_months: a delta called months.update no times")
            updates.append(seconds)
        return {"files": cold.files, "folders": len(folders), "cold_build_s": build_s,
                "write_all_s": write_s, "write_all_pct": 100 * write_s / build_s,
                "api": latency, "delta_s": delta_s, "update_s": updates}
    finally:
        months.counts, months.update = write_all.fn, update.fn
        shutil.rmtree(tmp, ignore_errors=True)


def report(results: dict[str, Any]) -> str:
    rows = ["| files (folders) | /api/months?tag=All p50 / p99 (calls) | months, files summed "
            "| cold build | months.write_all in it | one-file delta: months.update, median "
            "(max) | delta, whole |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    goals = []
    for r in results["sizes"]:
        a, upd = r["api"], r["update_s"]
        rows.append(
            f"| {r['files']:,} ({r['folders']:,}) | {a['p50_ms']:.2f} / {a['p99_ms']:.2f} ms "
            f"({a['calls']:,}) | {a['months']}, {a['files']:,} | {r['cold_build_s']:.2f} s | "
            f"{r['write_all_s'] * 1000:.0f} ms ({r['write_all_pct']:.2f} %) | "
            f"{statistics.median(upd) * 1000:.2f} ms ({max(upd) * 1000:.2f} ms, "
            f"{len(upd)} deltas) | {statistics.median(r['delta_s']):.2f} s |")
        size = f"{r['files']:,}"
        if r["files"] == 200_000:
            goals.append((f"/api/months?tag=All p50 at {size} ≤ 5 ms", a["p50_ms"],
                          GOALS["p50_ms_200k"], "ms"))
        goals.append((f"cold build cost at {size} ≤ +5 %", r["write_all_pct"],
                      GOALS["cold_pct"], "%"))
        goals.append((f"one-file delta's month update at {size} ≤ 5 ms",
                      statistics.median(upd) * 1000, GOALS["delta_ms"], "ms"))
    rows += ["", "| goal (issue 22) | measured | |", "| --- | --- | --- |"]
    rows += [f"| {name} | {value:.2f} {unit} | {'met' if value <= limit else '**missed**'} |"
             for name, value, limit, unit in goals]
    return "\n".join([f"    {results['command']}", "", *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="files, comma separated")
    parser.add_argument("--months", type=int, default=240, help="months the mtimes span")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--deltas", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="where the temp dir goes (default: $TMPDIR)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="5k files, 200 calls, 3 deltas")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.calls, args.deltas = "5000", 200, 3
    results: dict[str, Any] = {"command": command_line("bench_months.py", argv),
                               "machine": machine(), "sizes": []}
    for files in (int(s) for s in args.sizes.split(",")):
        print(f"[bench_months] {files:,} files", file=sys.stderr)
        results["sizes"].append(measure(files, args.months, args.calls, args.deltas,
                                        args.work, args.seed))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
