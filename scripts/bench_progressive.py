#!/usr/bin/env python3
"""The progressive first index (issue 23): how soon a cold library is browsable.

    python scripts/bench_progressive.py serve --files 1000000     # a live server
    python scripts/bench_progressive.py strategies --files 100000  # prefixes or deltas

``serve``: an empty-file library (``make_library.py --empty`` shape, made
under ``--work`` and deleted afterwards unless ``--keep``), then, in the same
run, ``find ROOT -printf '%s %T@ %p\\n' >/dev/null`` (twice, median) and
``mediasrv serve`` on an empty cache polled with ``/api/files?limit=1`` until
the first file answers and then until ``complete`` is true (``--first-only``:
stop at the first file). Prints the times,
their ratios to ``find``, and each part served (time, files).

``strategies``: in process, the walk is run as a first scan runs it and the
points where ``scan/progressive.py`` publishes are taken down; then the same
parts are built two ways, one after the other: each as a full build of the
prefix (what mediasrv does), and the first in full, each next one as a delta
of the one before (``scan/delta``) adding the folders found since. Prints each
part's seconds and the totals.

This is the small script the task allows while ``scripts/bench_cold.py``
(issue 23's cold-build benchmark, another branch) is not in this tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path
from typing import Any

import benchlib


def timed_find(root: Path) -> float:
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["find", str(root), "-printf", "%s %T@ %p\n"], stdout=null, check=True)
    return time.perf_counter() - started


def serve(root: Path, work: Path, *, first_only: bool = False) -> dict[str, Any]:
    """Seconds to the first file answered and to ``complete``, with each part seen."""
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    served = benchlib.serve(root, cache, "--no-watch", log=work / "serve.log")
    parts: list[tuple[float, int, bool]] = []
    first = None
    try:
        while True:
            if served.proc.poll() is not None:
                raise RuntimeError((work / "serve.log").read_text()[-2000:])
            try:
                page = benchlib.get_json(served.base, "/api/files", limit=1)
            except (OSError, urllib.error.HTTPError, ValueError):
                time.sleep(0.02)
                continue
            now = time.perf_counter() - started
            if page["files"] and first is None:
                first = now
            if not parts or parts[-1][1] != page["total"] or parts[-1][2] != page["complete"]:
                parts.append((round(now, 2), page["total"], page["complete"]))
            if page["complete"] or (first_only and first is not None):
                return {
                    "first_s": first,
                    "complete_s": now if page["complete"] else None,
                    "parts": parts,
                    "uptime": os.getloadavg(),
                }
            time.sleep(0.02)
    finally:
        served.stop()
        shutil.rmtree(cache, ignore_errors=True)


def main_serve(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-progressive-", dir=args.work))
    try:
        root = args.lib or benchlib.empty_library(work / "lib", args.files)
        folders = sum(1 for _ in os.walk(root)) - 1
        finds = [timed_find(root) for _ in range(2)]
        found = serve(root, work, first_only=args.first_only)
        find_s = statistics.median(finds)
        return {
            "files": args.files,
            "folders": folders,
            "find_s": [round(f, 2) for f in finds],
            **found,
            "first_to_find": round(found["first_s"] / find_s, 3),
            "complete_to_find": (
                round(found["complete_s"] / find_s, 3) if found["complete_s"] is not None else None
            ),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main_strategies(args: argparse.Namespace) -> dict[str, Any]:
    from mediasrv.index import db
    from mediasrv.index.filerows import write_meta
    from mediasrv.scan import delta, fullbuild, progressive
    from mediasrv.scan.fallback import NeedFullBuild
    from mediasrv.scan.walk import Record, WalkStats, walk

    work = Path(tempfile.mkdtemp(prefix="bench-progressive-", dir=args.work))
    try:
        root = args.lib or benchlib.empty_library(work / "lib", args.files)
        records: list[Record] = []
        points: list[int] = []
        shown = 0

        def progress(stats: WalkStats) -> None:
            nonlocal shown
            if stats.files > shown and stats.files >= progressive.GROWTH * shown:
                points.append(len(records))
                shown = len(records)

        started = time.perf_counter()
        records.extend(walk(root, progress=progress))
        walk_s = time.perf_counter() - started
        points.append(len(records))
        out: dict[str, Any] = {
            "files": len(records),
            "walk_s": round(walk_s, 2),
            "parts": points,
            "growth": progressive.GROWTH,
        }

        prefix_s = []
        for n, count in enumerate(points, 1):
            started = time.perf_counter()
            fullbuild.write(work / f"p{n}.db", n, records[:count], root=str(root))
            prefix_s.append(round(time.perf_counter() - started, 2))
            (work / f"p{n}.db").unlink()
        out["prefix_s"], out["prefix_total_s"] = prefix_s, round(sum(prefix_s), 2)

        delta_s: list[tuple[float, str]] = []
        started = time.perf_counter()
        fullbuild.write(work / "d1.db", 1, records[: points[0]], root=str(root))
        delta_s.append((round(time.perf_counter() - started, 2), "full"))
        for n in range(1, len(points)):
            started = time.perf_counter()
            listings: dict[str, list[Record]] = {}
            for rec in records[points[n - 1] : points[n]]:
                listings.setdefault(rec.path.rpartition("/")[0], []).append(rec)
            conn = db.connect_ro(work / f"d{n}.db")
            try:
                the_plan = delta.plan(conn, listings)
            finally:
                conn.close()
            delta.copy_file(work / f"d{n}.db", work / f"d{n + 1}.db")
            conn = db.connect_build(work / f"d{n + 1}.db")
            how = "delta"
            try:
                delta.apply(
                    conn,
                    the_plan,
                    {},
                    lambda c, counts, n=n: write_meta(c, n + 1, str(root), counts, {}),
                )
            except NeedFullBuild as exc:  # as build.py does: this part is built in full
                conn.close()
                how = f"full ({exc})"
                (work / f"d{n + 1}.db").unlink()
                fullbuild.write(work / f"d{n + 1}.db", n + 1, records[: points[n]], root=str(root))
            finally:
                conn.close()
            (work / f"d{n}.db").unlink()
            delta_s.append((round(time.perf_counter() - started, 2), how))
        out["delta_s"], out["delta_total_s"] = delta_s, round(sum(t for t, _ in delta_s), 2)
        out["loadavg"] = os.getloadavg()
        return out
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["serve", "strategies"])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None, help="where the library is made")
    parser.add_argument("--keep", action="store_true", help="keep the library afterwards")
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="serve: stop at the first file (no time to complete)",
    )
    parser.add_argument(
        "--lib",
        type=Path,
        default=None,
        help="an existing library to measure instead (left as it is)",
    )
    args = parser.parse_args(argv)
    print(benchlib.command_line("bench_progressive.py", argv), file=sys.stderr)
    result = main_serve(args) if args.what == "serve" else main_strategies(args)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
