#!/usr/bin/env python3
"""What a page costs against a page of one: JSON pages of 1 and 100 files, and grid pages.

    python scripts/bench_pages.py [--files 100000] [--seconds 5] [--runs 3] [--before main]

Issue 23's goals, as ratios measured in one run so the machine cancels out:
a JSON page of 100 (``/api/files?limit=100``) costs at most 2.5x a page of 1,
and a grid page of 60 tiles (``/tag/All?page=N``) at most 3x a JSON page of 1.

Two servers (``mediasrv serve``, one process each, no watcher) serve the same
library of empty files: this checkout, and the code of ``--before`` (a commit of
this repository, exported with ``git archive``), measured in turn (the first of
each pair alternating). Each case is ``wrk -c1`` (one connection, closed loop)
over URLs at random offsets (the same list for both), and reads the server's CPU
time from /proc: requests per second, and server CPU µs per request. A ratio is
the page's cost over the JSON page of 1's, by time per request (1 / req/s) and
by server CPU. Also run by ``bench.py`` (``--pages-only`` runs just this).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import (
    REPO,
    Served,
    alternating,
    cpu_seconds,
    export_tree,
    get_json,
    library,
    log,
    serve_indexed,
    wrk,
)

PAGE = 60  # tiles per grid page (server/pages.py PAGE_SIZE)
CASES = ("json1", "json100", "json100_taken", "grid")
GOALS = {"json100": 2.5, "grid": 3.0}  # at most this many pages of one (json1)


def urls(total: int, rng: random.Random, count: int = 400) -> dict[str, list[str]]:
    """Each case's request paths, at random offsets of All."""

    def offsets(size: int) -> list[int]:
        return [rng.randrange(max(total - size, 1)) for _ in range(count)]

    pages = max(total // PAGE, 1)
    return {
        "json1": [f"/api/files?limit=1&offset={o}" for o in offsets(1)],
        "json100": [f"/api/files?limit=100&offset={o}" for o in offsets(100)],
        "json100_taken": [f"/api/files?limit=100&sort=taken&offset={o}" for o in offsets(100)],
        "grid": [f"/tag/All?page={rng.randrange(1, pages + 1)}" for _ in range(count)],
    }


def measure(server: Served, paths: list[str], seconds: int, work: Path) -> dict[str, float]:
    """``wrk -c1`` on ``paths``: req/s, and the server's CPU µs per request."""
    before = cpu_seconds(server.proc.pid)
    found = wrk(server.base, paths, seconds, 1, work)
    cpu = cpu_seconds(server.proc.pid) - before
    if found["failed"]:
        raise RuntimeError(f"{found['failed']} requests failed")
    return {"rps": found["rps"], "cpu_us": 1e6 * cpu / max(found["requests"], 1)}


def ratios(cases: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each case's cost over a JSON page of one's: by time per request and by server CPU."""
    one = cases["json1"]
    return {
        case: {"time": one["rps"] / found["rps"], "cpu": found["cpu_us"] / one["cpu_us"]}
        for case, found in cases.items()
        if case != "json1"
    }


def run(work: Path, files: int, seconds: int, runs: int, before: str) -> dict[str, Any]:
    """Both trees' figures (medians of ``runs``) and ratios."""
    work.mkdir(parents=True, exist_ok=True)
    root = library(work, files)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", before],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    trees = {"this": None, "base": export_tree(commit, work / f"tree-{commit}")}
    servers = {}
    try:
        for name, tree in trees.items():
            log(f"pages: starting the {name} server")
            servers[name] = serve_indexed(root, work / f"cache-{name}", tree=tree)
        total = get_json(servers["this"].base, "/api/status")["files"]
        paths = urls(total, random.Random(23))
        for server in servers.values():  # warm: connections, page cache, memos
            for case in CASES:
                measure(server, paths[case], 1, work)
        found: dict[str, dict[str, list[dict[str, float]]]] = {n: {} for n in trees}
        for run_no, name in alternating(runs):
            for case in CASES:
                got = measure(servers[name], paths[case], seconds, work)
                found[name].setdefault(case, []).append(got)
                log(
                    f"pages run {run_no} {name} {case}: {got['rps']:.0f} req/s, "
                    f"{got['cpu_us']:.0f} us CPU"
                )
    finally:
        for server in servers.values():
            server.stop()
    out: dict[str, Any] = {
        "files": total,
        "seconds": seconds,
        "runs": runs,
        "before": f"{before} ({commit})",
        "loadavg": os.getloadavg(),
        "stages_us": stages(work / "cache-this" / "current.db"),
    }
    for name in trees:
        cases = {
            case: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
            for case, rs in found[name].items()
        }
        out[name] = {"cases": cases, "ratios": ratios(cases), "runs": found[name]}
    return out


def report(out: dict[str, Any]) -> str:
    """A Markdown table: each case's req/s and CPU, and its ratios, before and after; then
    where a page's time goes in process (this checkout)."""
    this, base = out["this"], out["base"]
    lines = [
        f"({out['files']:,} files; `wrk -c1`, {out['seconds']} s per case, median of "
        f"{out['runs']} runs each, the two servers in turn; before: `{out['before']}`; "
        f"{os.cpu_count()} CPUs, load average {out['loadavg'][0]:.1f} at the end)",
        "",
        "| case | req/s before | req/s after | server CPU µs before | after "
        "| × page of 1 before (time / CPU) | after (time / CPU) | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in CASES:
        b, t = base["cases"][case], this["cases"][case]
        rb, rt = base["ratios"].get(case), this["ratios"].get(case)
        cells = [
            f"{b['rps']:,.0f}",
            f"{t['rps']:,.0f}",
            f"{b['cpu_us']:,.0f}",
            f"{t['cpu_us']:,.0f}",
            f"{rb['time']:.2f} / {rb['cpu']:.2f}" if rb else "1",
            f"{rt['time']:.2f} / {rt['cpu']:.2f}" if rt else "1",
            f"≤ {GOALS[case]}" if case in GOALS else "",
        ]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "In process, this checkout (µs, 10th percentile of 300 at random offsets): "
        + ", ".join(f"{name} {us:.0f}" for name, us in out["stages_us"].items()),
    ]
    return "\n".join(lines)


def stages(db: Path, rounds: int = 300) -> dict[str, float]:
    """Where a page's time goes, in this process on generation ``db``: each stage's 10th
    percentile (the least disturbed) in µs, at random offsets of All."""
    from mediasrv.server import render, tilerows
    from mediasrv.server.encode import dumps
    from mediasrv.server.tiles import tiles_html
    from mediasrv.snapshot.base import file_dict
    from mediasrv.snapshot.pagequery import PAGE as PAGE_SQL
    from mediasrv.snapshot.pagequery import rendered_page
    from mediasrv.snapshot.rendered import FILE_JSON
    from mediasrv.snapshot.sqlite import _tag_params

    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    rng, at = random.Random(5), _tag_params("All")
    total = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    times: dict[str, list[float]] = {}
    query = PAGE_SQL["name"]

    def timed(name: str, fn: Any, *args: Any) -> Any:
        began = time.perf_counter()
        result = fn(*args)
        times.setdefault(name, []).append(1e6 * (time.perf_counter() - began))
        return result

    for _ in range(rounds):
        for limit in (1, 100, PAGE):
            offset = rng.randrange(max(total - limit, 1))
            sql = {**at, "offset": offset, "end": offset + limit}
            # What the server does: SQLite writes each file's JSON or tile (rendered.py).
            rendering = FILE_JSON if limit != PAGE else tilerows.rendering("All", "name")
            timed(f"written by SQLite {limit}", rendered_page, conn, "name", sql, rendering)
            # The Python path (the in-RAM backend, and files SQLite does not write).
            rows = timed(f"sql {limit}", lambda q: conn.execute(query, q).fetchall(), sql)
            files = timed(f"file dicts {limit}", lambda rs: [file_dict(r[2:]) for r in rs], rows)
            if limit != PAGE:
                timed(f"encode {limit}", dumps, {"files": files})
                continue
            for file in files:
                file["favourite"] = False
            tiles = timed(
                "tile dicts 60",
                lambda fs: [render.tile(f, render.view_url("All", f)) for f in fs],
                files,
            )
            timed("tiles html 60", tiles_html, tiles)
    conn.close()
    return {name: sorted(found)[len(found) // 10] for name, found in times.items()}


def goal_lines(out: dict[str, Any]) -> str:
    lines = []
    for case, goal in GOALS.items():
        got = out["this"]["ratios"][case]
        worst = max(got["time"], got["cpu"])
        lines.append(
            f"page cost {case} / json1: {got['time']:.2f}x by time, "
            f"{got['cpu']:.2f}x by CPU (goal <= {goal}x): "
            f"{'met' if worst <= goal else 'MISSED'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5, help="per case and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default="main", help="the commit to compare with")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-pages"))
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_pages: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    out = run(args.dir, args.files, args.seconds, args.runs, args.before)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    print(report(out))
    print(goal_lines(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
