#!/usr/bin/env python3
"""What the second order (sort=taken) costs a cold scan and a delta build, side by side.

    python scripts/bench_taken.py --dir /tmp/bench/lib100k --files 100000 --base 7034324
    python scripts/bench_taken.py --dir /tmp/bench/lib1m --files 1000000 --runs 2 --json t1m.json

Two trees of mediasrv are measured in alternation on one library: ``--base``
(a commit without the order, checked out once as a git worktree beside the
library) and this checkout. Each run is a fresh process per tree that makes a
cold scan into a new cache, then, ``--trials`` times: creates a file (the
newest of the library), sets an old file's mtime to now (it leaves its chunk
for the last one, so every chunk between moves), puts that time back, and
deletes the new file, each a targeted scan and a delta build timed on its own.
With this checkout the process also times the order's own work (building
every tag's order and writing its chunks; the chunk updates of each delta) by
wrapping those functions. The library is made with ``scripts/make_library.py
--empty`` (modification times spread over 16 years) and kept; caches go under
a temp dir and are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, alternating, child_env, empty_library, export_tree

PHASES = ("create", "modify", "restore", "delete")


def scan_modules() -> tuple[Any, Any]:
    """(CacheDir, run_scan) of this process's mediasrv, in either layout."""
    try:
        from mediasrv.index.cachedir import CacheDir
        from mediasrv.scan.job import run_scan
    except ImportError:  # a tree from before the packages (commit deb7acf)
        from mediasrv.cache import CacheDir  # type: ignore[no-redef]
        from mediasrv.scanjob import run_scan  # type: ignore[no-redef]
    return CacheDir, run_scan


def order_modules() -> tuple[Any, Any] | None:
    """(the full build's module, the order's module), or None in a tree without the order."""
    try:
        from mediasrv.index import dateorder
        from mediasrv.scan import fullbuild
    except ImportError:
        try:  # the layout before the packages (commit deb7acf)
            from mediasrv import builder as fullbuild  # type: ignore[no-redef]
            from mediasrv import taken as dateorder  # type: ignore[no-redef]
        except ImportError:
            return None
    return fullbuild, dateorder


def child(root: Path, cache_dir: Path, trials: int, seed: int) -> dict[str, Any]:
    """One tree's measurements (run in a process whose ``mediasrv`` is that tree)."""
    import mediasrv

    CacheDir, run_scan = scan_modules()
    own: dict[str, float] = {"build": 0.0, "update": 0.0}
    order = order_modules()
    taken = order is not None
    if order is not None:
        fullbuild, dateorder = order

        def timed(name: str, fn: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    own[name] += time.perf_counter() - started
            return wrapper
        fullbuild._write_taken = timed("build", fullbuild._write_taken)
        dateorder.update = timed("update", dateorder.update)

    cache = CacheDir(cache_dir)
    started = time.perf_counter()
    cold = run_scan(root, cache)
    cold_s = time.perf_counter() - started
    build_s, own["build"] = own["build"], 0.0
    rng = random.Random(seed)
    import sqlite3
    conn = sqlite3.connect(cache.current)
    folders = [root / p for (p,) in conn.execute(
        "SELECT path FROM folders WHERE path_bytes IS NULL AND path != '' ORDER BY id")]
    conn.close()
    times: dict[str, list[float]] = {phase: [] for phase in PHASES}
    updates: list[float] = []

    def scan(rel: str, phase: str) -> None:
        own["update"] = 0.0
        started = time.perf_counter()
        result = run_scan(root, cache, paths=[rel])
        times[phase].append(time.perf_counter() - started)
        updates.append(own["update"])
        if result.mode != "delta":
            raise SystemExit(f"bench_taken: a {phase} was built {result.mode}, not as a delta")

    for trial in range(trials):
        folder = rng.choice(folders)
        new = folder / f"taken-bench-{trial}.jpg"
        new.touch()
        scan(str(new.relative_to(root)), "create")
        old = rng.choice([p for p in rng.choice(folders).iterdir() if p.is_file()])
        was = old.stat().st_mtime_ns
        os.utime(old, ns=(time.time_ns(), time.time_ns()))
        scan(str(old.relative_to(root)), "modify")
        os.utime(old, ns=(was, was))
        scan(str(old.relative_to(root)), "restore")
        new.unlink()
        scan(str(new.relative_to(root)), "delete")
    db = Path(cache.current)
    conn = sqlite3.connect(db)
    try:
        chunks = conn.execute("SELECT count(*), coalesce(sum(length(files)), 0) FROM tag_taken"
                              ).fetchone() if taken else (0, 0)
    finally:
        conn.close()
    return {"tree": str(Path(mediasrv.__file__).parent.parent), "files": cold.files,
            "cold_s": cold_s, "order_build_s": build_s if taken else None,
            "delta_s": times, "order_update_s": updates if taken else None,
            "db_bytes": db.stat().st_size, "chunks": chunks[0], "chunk_json_bytes": chunks[1]}


def run_tree(tree: Path, root: Path, trials: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-taken-") as tmp:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(root.resolve()),
             str(Path(tmp) / "cache"), str(trials), str(seed)],
            env=child_env(tree), capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"bench_taken: the run in {tree} failed:\n{out.stderr[-3000:]}")
        return dict(json.loads(out.stdout))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, list[dict[str, Any]]], command: str) -> str:
    base, this = results["base"], results["this"]
    rows = [("cold scan", [r["cold_s"] for r in base], [r["cold_s"] for r in this])]
    for phase in PHASES:
        rows.append((f"delta: {phase}", [t for r in base for t in r["delta_s"][phase]],
                     [t for r in this for t in r["delta_s"][phase]]))
    lines = [f"    {command}", "",
             f"{this[0]['files']:,} files; medians of {len(base)} runs (cold) and "
             f"{len(rows[1][1])} trials (each delta):", "",
             "| | without the order | with it | ratio |", "| --- | --- | --- | --- |"]
    for name, without, with_ in rows:
        a, b = median(without), median(with_)
        lines.append(f"| {name} | {a:.3f} s | {b:.3f} s | {b / a:.2f}× |")
    own = [r["order_build_s"] for r in this]
    updates = [u for r in this for u in r["order_update_s"]]
    size = {name: median([r["db_bytes"] for r in runs]) / 2**20
            for name, runs in results.items()}
    lines += ["", "The order's own work, timed inside the same runs: building and writing it "
              f"{median(own):.3f} s of the cold scan; updating the chunks "
              f"{median(updates) * 1000:.1f} ms per delta (max {max(updates) * 1000:.1f} ms). "
              f"Generation file {size['base']:.1f} MiB without, {size['this']:.1f} MiB with "
              f"({this[0]['chunks']:,} chunks, {this[0]['chunk_json_bytes'] / 2**20:.1f} MiB"
              " of ids)."]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        root, cache, trials, seed = sys.argv[2:6]
        print(json.dumps(child(Path(root), Path(cache), int(trials), int(seed))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="the library (made if missing)")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--base", default="7034324",
                        help="a commit without the order (default: the schema before it)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    empty_library(args.dir, args.files)
    trees = {"base": export_tree(args.base, args.dir.parent / f"mediasrv-{args.base}"),
             "this": REPO}
    results: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
    for run, name in alternating(args.runs):
        print(f"[bench_taken] run {run + 1}/{args.runs}: {name}", file=sys.stderr)
        results[name].append(run_tree(trees[name], args.dir, args.trials, seed=run))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    command = "python scripts/bench_taken.py " + " ".join(sys.argv[1:])
    print(report(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
