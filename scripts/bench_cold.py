#!/usr/bin/env python3
"""A big library from cold, and its no-change rescan, beside ``find`` and a bare Python walk.

    python scripts/bench_cold.py                    # 1M files (10k folders), 500k (100k folders)
    python scripts/bench_cold.py --plot-files 100000 --plot docs/cold_start.png
    python scripts/bench_cold.py --quick            # small libraries: it still runs end to end
    python scripts/bench_cold.py --library deep --runs 1   # the 1M library alone
    python scripts/bench_cold.py --library deep --rescan-only --libraries /tmp/libs  # rescans only
    python scripts/bench_cold.py --cold-runs 3 --against /tmp/before  # before/after, alternated

For each library, in one run and on a warm dentry cache (one untimed walk
first): ``find ROOT -printf '%s %T@ %p\\n'`` and a bare Python
``os.scandir`` + ``stat`` walk (each the median of ``--runs``); then
``mediasrv serve`` on an empty cache, polling ``/api/files?limit=1``: when
the first file is browsable and when every file is (the answer's
``complete`` flag where the server gives one, else its ``total``); then
``--runs`` no-change rescans (``POST /api/rescan?wait=1``; with ``--cold-runs N``,
N cold starts, each on an empty cache, first file and complete their medians, the
rescans after the last; with ``--against TREE`` as many of that checkout's, alternating
with these, and the ratio of the medians); the peak RSS of
the server and of its scan process (``VmHWM``). Goals (issue 23) are ratios to
``find`` in the same run: first file <= 0.5x, complete <= 2.5x, no-change
rescan <= 1.5x; scan process peak RSS <= 300 MB at 1M files.

Beside them, what no build of this schema can go below: "SQLite alone" is the
time SQLite takes, in C with no Python per row, to write the last cold
start's generation again into an empty file with the build's settings
(``connect_build``): every table's rows, read from the published file in the
order they are stored (``INSERT ... SELECT ... WHERE 1``: row by row, not
SQLite's transfer of stored records), its indexes and statistics, as
``fullbuild`` ends. No
natural-order sort, tags, words or chunks are worked out; its median of
``--runs``. A build must also walk, so ``find`` plus that is the floor of a
cold start done serially.

``--plot`` draws files browsable over time during a cold start of a library
of ``--plot-files`` files, mediasrv against copyparty (``-e2dsa --no-hash``:
names and sizes indexed, no hashing; what it has indexed is counted in its
up2k database, as committed), when ``copyparty`` is installed.

Libraries are empty files under ``--work`` (a temp dir by default), deleted
at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import benchlib

from mediasrv.index.db import connect_build

GOALS = {"first_x": 0.5, "complete_x": 2.5, "rescan_x": 1.5}
RSS_GOAL_MB, RSS_GOAL_FILES = 300, 1_000_000

BARE_WALK = """
import os, sys, time
def walk(top):
    n = 0
    stack = [top]
    while stack:
        for e in os.scandir(stack.pop()):
            if e.name[0] == '.':
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                e.stat(follow_symlinks=False)
                n += 1
    return n
t = time.perf_counter()
n = walk(sys.argv[1])
print(n, time.perf_counter() - t)
"""


def folder_heavy(root: Path, files: int, per_folder: int = 5) -> Path:
    """``files`` empty files, ``per_folder`` in each ``Country NN/City NN [trip]/Day NNNNNN
    beach`` folder (20 cities a country, 100 days a city): many folders, few files each."""
    if (root / ".bench-complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    benchlib.log(f"making {files:,} empty files in {files // per_folder:,} folders under {root}")
    for day in range(-(-files // per_folder)):
        city, country = day // 100, day // 2000
        folder = root / f"Country {country:02d}/City {city % 20:02d} [trip]/Day {day:06d} beach"
        folder.mkdir(parents=True)
        for i in range(min(per_folder, files - day * per_folder)):
            (folder / f"IMG_{i + 1:04d}.jpg").touch()
    (root / ".bench-complete").write_text("")
    return root


def deep_library(root: Path, files: int) -> Path:
    """``make_library.py --empty``: the benchmark shape (about 110 files a folder)."""
    if not (root / ".bench-complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        benchlib.empty_library(root, files)
        (root / ".bench-complete").write_text("")
    return root


def time_find(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["find", str(root), "-printf", "%s %T@ %p\n"], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def time_bare_walk(root: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", BARE_WALK, str(root)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[1])


class Alone(NamedTuple):
    """What ``sqlite_alone`` measured: seconds in all, rows written, and seconds by table
    (its rows and its indexes; "commit, statistics" for the end)."""

    seconds: float
    rows: int
    by_table: dict[str, float]


def sqlite_alone(generation: Path, work: Path) -> Alone:
    """How long SQLite takes to write ``generation``'s tables (rows in their stored order),
    indexes and statistics again into an empty file, as a build does (no Python per row)."""
    out = work / "sqlite-alone.db"
    out.unlink(missing_ok=True)
    conn = connect_build(out)
    try:
        conn.execute("ATTACH DATABASE ? AS old", (str(generation.resolve()),))  # only read
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM old.sqlite_schema WHERE sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite_%' AND type IN ('table', 'index') ORDER BY type DESC"
        ).fetchall()
        for kind, _, _, sql in schema:
            if kind == "table":
                conn.execute(sql)
        by_table: dict[str, float] = {}
        rows = 0
        started = time.perf_counter()
        conn.execute("BEGIN")
        for kind, name, table, sql in schema:  # the tables first, then the indexes
            at = time.perf_counter()
            if kind == "table":  # WHERE: row by row, as a build writes (no record transfer)
                rows += conn.execute(
                    f'INSERT INTO main."{name}" SELECT * FROM old."{name}" WHERE 1').rowcount
            else:
                conn.execute(sql)
            by_table[table] = by_table.get(table, 0.0) + time.perf_counter() - at
        at = time.perf_counter()
        conn.execute("COMMIT")
        conn.execute("PRAGMA analysis_limit = 1000")
        conn.execute("ANALYZE")
        by_table["commit, statistics"] = time.perf_counter() - at
        return Alone(time.perf_counter() - started, rows, by_table)
    finally:
        conn.close()
        out.unlink(missing_ok=True)


def peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, KeyError, ValueError):
        return benchlib.proc_stats(pid)["peak_rss_mb"]
    return math.nan


def scan_process(server_pid: int) -> int | None:
    """The server's scan process (``python -m mediasrv.scan.process``), if it has one now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes()
            if int(stat[1]) == server_pid and b"mediasrv.scan.process" in cmdline:
                return int(entry.name)
    return None


def poll_files(base: str) -> dict[str, Any] | None:
    """``/api/files?limit=1``, or None while nothing is served (not listening, or 503)."""
    try:
        with urllib.request.urlopen(base + "/api/files?limit=1", timeout=30) as resp:
            return dict(json.loads(resp.read()))
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def cold_start(
    root: Path,
    files: int,
    work: Path,
    *,
    runs: int,
    first_only: bool = False,
    rescan_only: bool = False,
    tree: Path | None = None,
    floor: bool = False,
) -> dict[str, Any]:
    """``mediasrv serve`` on an empty cache: first file, every file, rescans, peak RSS
    (``first_only``: the first file alone, then the server is stopped); ``floor``: then
    ``sqlite_alone`` on its generation (the median of ``runs``), the server idle.

    ``rescan_only``: the index is built first by ``mediasrv scan`` (not timed), so the
    first file and complete figures are only the server's start on it. ``tree``: the
    checkout whose mediasrv runs (this one by default).
    """
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    if rescan_only:
        subprocess.run(
            [sys.executable, "-m", "mediasrv", "scan", str(root), "--cache-dir", str(cache)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=benchlib.child_env(tree),
            cwd=tree or benchlib.REPO,
        )
    started = time.monotonic()
    served = benchlib.serve(root, cache, log=work / "serve.log", tree=tree)
    series: list[tuple[float, int]] = []
    first = complete = math.nan
    scanner: int | None = None
    scan_rss = 0.0
    try:
        while math.isnan(complete) and not (first_only and not math.isnan(first)):
            if served.proc.poll() is not None:
                raise served._exited()
            answer = poll_files(served.base)
            now = time.monotonic() - started
            total = int(answer["total"]) if answer else 0
            series.append((now, total))
            if total and math.isnan(first):
                first = now
            if answer and answer.get("complete", total == files) and total == files:
                complete = now
            scanner = scanner or scan_process(served.proc.pid)
            if scanner:  # it may be restarted; keep the highest peak seen
                scan_rss = max(scan_rss, peak_rss_mb(scanner) if scanner else 0.0)
            if now > 3600:
                raise RuntimeError("no complete index within an hour")
            time.sleep(0.02)
        if first_only:
            return {"first_s": first, "series": series}
        served.wait()  # the scan has finished (and its process has its peak)
        scanner = scan_process(served.proc.pid) or scanner
        if scanner:
            scan_rss = max(scan_rss, peak_rss_mb(scanner))
        cold_rss = scan_rss  # the rescans' peak is reported apart: another path
        rescans = []
        for _ in range(runs):
            t = time.perf_counter()
            request = urllib.request.Request(served.base + "/api/rescan?wait=1", method="POST")
            with urllib.request.urlopen(request, timeout=600) as resp:
                answer = json.loads(resp.read())
            rescans.append(
                {
                    "s": time.perf_counter() - t,
                    "scan_s": answer.get("scan_s"),
                    "status": answer.get("status"),
                }
            )
        scanner = scan_process(served.proc.pid) or scanner
        if scanner:
            scan_rss = max(scan_rss, peak_rss_mb(scanner))
        server_rss = peak_rss_mb(served.proc.pid)
        alone = [sqlite_alone(cache / "current.db", work) for _ in range(runs if floor else 0)]
    finally:
        served.stop()
        shutil.rmtree(cache, ignore_errors=True)
    return {
        "first_s": first,
        "complete_s": complete,
        "rescan_s": statistics.median(r["s"] for r in rescans) if rescans else math.nan,
        "rescans": rescans,
        "server_peak_rss_mb": server_rss,
        "scan_peak_rss_mb": scan_rss or math.nan,
        "scan_cold_peak_rss_mb": cold_rss or math.nan,
        "series": series,
        "sqlite_s": statistics.median(a.seconds for a in alone) if alone else math.nan,
        "sqlite_by_table": alone[-1].by_table if alone else {},  # the last run's
    }


def first_files(root: Path, files: int, work: Path, runs: int, tree: Path | None) -> dict[str, Any]:
    """``--first-only``: ``runs`` times, ``find`` then a cold start up to the first file
    (alternating, so that both see the same machine); medians and the ratio. With
    ``tree``, the mediasrv of that checkout is run beside this one's, alternating too."""
    benchlib.log("warming the dentry cache")
    time_find(root)
    finds, firsts, theirs = [], [], []
    for _ in range(runs):
        finds.append(time_find(root))
        firsts.append(cold_start(root, files, work, runs=0, first_only=True)["first_s"])
        if tree is not None:
            theirs.append(
                cold_start(root, files, work, runs=0, first_only=True, tree=tree)["first_s"]
            )
        benchlib.log(
            f"find {finds[-1]:.2f} s, first file {firsts[-1]:.2f} s"
            + (f", {tree}: {theirs[-1]:.2f} s" if theirs else "")
        )
    find_s, first_s = statistics.median(finds), statistics.median(firsts)
    result = {
        "find_s": find_s,
        "first_s": first_s,
        "first_x": first_s / find_s,
        "finds": finds,
        "firsts": firsts,
    }
    if theirs:
        result.update(tree=str(tree), theirs=theirs, theirs_x=statistics.median(theirs) / find_s)
    return result


def measure(
    name: str,
    root: Path,
    files: int,
    work: Path,
    runs: int,
    rescan_only: bool = False,
    tree: Path | None = None,
    cold_runs: int = 1,
    against: Path | None = None,
) -> dict[str, Any]:
    benchlib.log(f"{name}: warming the dentry cache")
    time_find(root)
    find_s = statistics.median(time_find(root) for _ in range(runs))
    walk_s = statistics.median(time_bare_walk(root) for _ in range(runs))
    benchlib.log(f"{name}: find {find_s:.2f} s, bare Python walk {walk_s:.2f} s; cold start")
    # Each cold start on an empty cache; the last one goes on to the rescans. First file
    # and complete are the medians, the peak RSS the highest. ``against``: that checkout's
    # cold starts alternate with these (``benchlib.alternating``), so both see one machine.
    colds: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for run, who in benchlib.alternating(cold_runs):
        if who == "this":
            last = run == cold_runs - 1
            colds.append(cold_start(root, files, work, runs=runs if last else 0,
                                    rescan_only=rescan_only, tree=tree, floor=last))
        elif against is not None:
            theirs.append(cold_start(root, files, work, runs=0, rescan_only=rescan_only,
                                     tree=against))
            benchlib.log(f"{name}: {against}: complete {theirs[-1]['complete_s']:.2f} s")
    cold = colds[-1]
    cold["cold_starts"] = [{k: c[k] for k in ("first_s", "complete_s", "scan_cold_peak_rss_mb")}
                           for c in colds]
    for key in ("first_s", "complete_s"):
        cold[key] = statistics.median(c[key] for c in colds)
    for key in ("scan_cold_peak_rss_mb", "scan_peak_rss_mb", "server_peak_rss_mb"):
        cold[key] = max(c[key] for c in colds)
    cold.update(
        find_s=find_s,
        walk_s=walk_s,
        first_x=cold["first_s"] / find_s,
        complete_x=cold["complete_s"] / find_s,
        rescan_x=cold["rescan_s"] / find_s,
        sqlite_x=cold["sqlite_s"] / find_s,
        floor_x=(find_s + cold["sqlite_s"]) / find_s,
    )
    if theirs:
        complete = statistics.median(c["complete_s"] for c in theirs)
        cold["against"] = {
            "tree": str(against),
            "first_s": statistics.median(c["first_s"] for c in theirs),
            "complete_s": complete,
            "complete_x": complete / find_s,
            "cold_starts": [{k: c[k] for k in ("first_s", "complete_s", "scan_cold_peak_rss_mb")}
                            for c in theirs],
            "scan_cold_peak_rss_mb": max(c["scan_cold_peak_rss_mb"] for c in theirs),
        }
    each = ", ".join(f"{c['complete_s']:.2f}" for c in cold["cold_starts"])
    benchlib.log(
        f"{name}: first {cold['first_s']:.2f} s, complete {cold['complete_s']:.2f} s"
        f" (each cold start: {each}), rescan {cold['rescan_s']:.2f} s,"
        f" SQLite alone {cold['sqlite_s']:.2f} s"
    )
    return cold


def copyparty_series(root: Path, files: int, work: Path) -> list[tuple[float, int]] | None:
    """Files copyparty has indexed over time from its start (``-e2dsa --no-hash``), or None
    when copyparty is not installed."""
    try:
        import copyparty  # noqa: F401
    except ImportError:
        benchlib.log("copyparty is not installed (pip install copyparty): no comparison")
        return None
    hist = work / "copyparty-hist"
    shutil.rmtree(hist, ignore_errors=True)
    port = benchlib.free_port()
    started = time.monotonic()
    served = benchlib.launch(
        [
            sys.executable,
            "-m",
            "copyparty",
            "-q",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-v",
            f"{root.resolve()}::r",
            "-e2dsa",
            "--no-hash",
            ".",
            "--hist",
            str(hist),
        ],
        port,
        log=work / "copyparty.log",
    )
    series: list[tuple[float, int]] = []
    try:
        count = 0
        while count < files:
            if served.proc.poll() is not None:
                raise served._exited()
            count = max(count, _copyparty_count(hist))
            series.append((time.monotonic() - started, count))
            if series[-1][0] > 3600:
                raise RuntimeError("copyparty did not index the library within an hour")
            time.sleep(0.1)
    finally:
        served.stop()
        shutil.rmtree(hist, ignore_errors=True)
    return series


def _copyparty_count(hist: Path) -> int:
    for db in hist.rglob("up2k.db"):
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
            try:
                return int(conn.execute("SELECT count(*) FROM up").fetchone()[0])
            finally:
                conn.close()
    return 0


def plot(
    path: Path, files: int, ours: list[tuple[float, int]], theirs: list[tuple[float, int]] | None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.step([t for t, _ in ours], [n for _, n in ours], where="post", label="mediasrv serve")
    if theirs:
        ax.step(
            [t for t, _ in theirs],
            [n for _, n in theirs],
            where="post",
            label="copyparty -e2dsa --no-hash",
        )
    ax.set_xlabel("seconds since the server was started (empty cache)")
    ax.set_ylabel("files browsable / indexed")
    ax.set_title(f"Cold start of a library of {files:,} empty files")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ran(command: str) -> str:
    """The command and the load it started under, above each table."""
    load = ", ".join(f"{x:.2f}" for x in benchlib.machine()["loadavg_at_start"])
    return f"`{command}` (load average at start {load})"


def report(results: dict[str, dict[str, Any]], command: str) -> str:
    lines = [
        ran(command),
        "",
        "| library | find | bare Python walk | first file | complete | no-change rescan "
        "| peak RSS server / scan | SQLite alone | find + SQLite alone |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['find_s']:.2f} s | {r['walk_s']:.2f} s "
            f"| {r['first_s']:.2f} s ({r['first_x']:.2f}x) "
            f"| {r['complete_s']:.2f} s ({r['complete_x']:.2f}x) "
            f"| {r['rescan_s']:.2f} s ({r['rescan_x']:.2f}x) "
            f"| {r['server_peak_rss_mb']:.0f} / {r['scan_peak_rss_mb']:.0f} MB"
            f" (cold start {r['scan_cold_peak_rss_mb']:.0f}) "
            f"| {r['sqlite_s']:.2f} s ({r['sqlite_x']:.2f}x) | {r['floor_x']:.2f}x |"
        )
    lines += ["", "| goal | " + " | ".join(results) + " |", "| --- |" + " --- |" * len(results)]
    for key, goal in GOALS.items():
        cells = [f"{r[key]:.2f}x {'met' if r[key] <= goal else 'MISSED'}" for r in results.values()]
        lines.append(f"| {key.removesuffix('_x')} <= {goal}x find | " + " | ".join(cells) + " |")
    big = [(n, r) for n, r in results.items() if r["files"] >= RSS_GOAL_FILES]
    for name, r in big:
        met = "met" if r["scan_peak_rss_mb"] <= RSS_GOAL_MB else "MISSED"
        lines.append(
            f"| scan peak RSS <= {RSS_GOAL_MB} MB ({name}) | "
            f"{r['scan_peak_rss_mb']:.0f} MB {met} |" + " |" * (len(results) - 1)
        )
    for name, r in results.items():
        steps = sorted(r.get("sqlite_by_table", {}).items(), key=lambda kv: -kv[1])
        if steps:
            each = ", ".join(f"{table} {s:.2f} s" for table, s in steps if s >= 0.01)
            lines.append(f"\n{name}, SQLite alone by table (rows and indexes; its last run):"
                         f" {each}.")
    for name, r in results.items():
        if len(r.get("cold_starts", ())) > 1:
            each = ", ".join(f"{c['first_s']:.2f} / {c['complete_s']:.2f} s"
                             for c in r["cold_starts"])
            lines.append(f"\n{name}, first file / complete of each cold start: {each}.")
    against = [(name, r, r["against"]) for name, r in results.items() if "against" in r]
    if against:
        lines += ["", "| library | code | first file | complete, each cold start "
                  "| complete (median) | this / that | peak RSS scan (cold) |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r, a in against:
        for code, c in (("this", r), (a["tree"], a)):
            each = ", ".join(f"{x['complete_s']:.2f}" for x in c["cold_starts"])
            lines.append(
                f"| {name} | {code} | {c['first_s']:.2f} s | {each} s "
                f"| {c['complete_s']:.2f} s ({c['complete_x']:.2f}x) "
                f"| {r['complete_s'] / a['complete_s']:.2f} "
                f"| {c['scan_cold_peak_rss_mb']:.0f} MB |"
            )
    return "\n".join(lines)


def first_report(results: dict[str, dict[str, Any]], command: str) -> str:
    lines = [
        ran(command),
        "",
        "| library | code | find, each run | first file, each run | medians "
        "| ratio (goal <= 0.5) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        finds = ", ".join(f"{x:.2f}" for x in r["finds"])
        lines.append(
            f"| {name} | this | {finds} s | {', '.join(f'{x:.2f}' for x in r['firsts'])} s "
            f"| {r['find_s']:.2f} / {r['first_s']:.2f} s | {r['first_x']:.2f}x |"
        )
        if "theirs" in r:
            lines.append(
                f"| {name} | {r['tree']} | {finds} s "
                f"| {', '.join(f'{x:.2f}' for x in r['theirs'])} s "
                f"| {r['find_s']:.2f} / {statistics.median(r['theirs']):.2f} s "
                f"| {r['theirs_x']:.2f}x |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5,000 files (~50 folders) and 2,000 in 400 folders, one run each",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of find, walk and rescan")
    parser.add_argument("--cold-runs", type=int, default=1,
                        help="cold starts per library (first file and complete: medians)")
    parser.add_argument("--work", type=Path, help="where the libraries go (a temp dir)")
    parser.add_argument("--plot", type=Path, help="PNG: files browsable over time")
    parser.add_argument(
        "--plot-files",
        type=int,
        default=100_000,
        help="files in the plot's library (default 100,000)",
    )
    parser.add_argument("--only-plot", action="store_true", help="skip the big libraries")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="only the time to the first file browsable, against find, --runs times each",
    )
    parser.add_argument(
        "--library",
        choices=("deep", "heavy"),
        help="one library only: deep (make_library shape) or heavy (100k folders)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="also run the mediasrv of this checkout (e.g. the code before a change), its"
        " cold starts alternating with this one's (with --first-only: its first files)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the libraries under --work (made once, reused by the next run)",
    )
    parser.add_argument(
        "--libraries",
        type=Path,
        help="make the big libraries here and keep them for the next run (default: under"
        " the temp dir, deleted)",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        help="measure the mediasrv of another checkout (e.g. main), not this one's",
    )
    parser.add_argument(
        "--rescan-only",
        action="store_true",
        help="index with `mediasrv scan` first (untimed): only the rescans (and find, walk)"
        " are figures; first file and complete are then the server's start on that index",
    )
    args = parser.parse_args(argv)
    deep, heavy = (5_000, 2_000) if args.quick else (1_000_000, 500_000)
    runs = 1 if args.quick else args.runs
    if args.keep and not args.work:
        parser.error("--keep needs --work")
    work = args.work if args.keep else Path(tempfile.mkdtemp(prefix="bench-cold-", dir=args.work))
    results: dict[str, dict[str, Any]] = {}
    try:
        if not args.only_plot:
            for key, name, make, files in (
                ("deep", f"{deep:,} files, make_library shape", deep_library, deep),
                ("heavy", f"{heavy:,} files in {heavy // 5:,} folders", folder_heavy, heavy),
            ):
                if args.library not in (None, key):
                    continue
                root = make((args.libraries or work) / f"lib-{files}", files)
                if args.first_only:
                    first = first_files(root, files, work, runs, args.against)
                    results[name] = {"files": files, **first}
                else:
                    figures = measure(
                        name, root, files, work, runs, rescan_only=args.rescan_only,
                        tree=args.tree, cold_runs=max(args.cold_runs, 1),
                        against=args.against,
                    )
                    results[name] = {"files": files, **figures}
                if not (args.keep or args.libraries):
                    shutil.rmtree(root, ignore_errors=True)
        if args.plot:
            files = min(args.plot_files, deep) if args.quick else args.plot_files
            root = deep_library(work / f"plot-{files}", files)
            time_find(root)  # the same warm dentry cache for both
            ours = cold_start(root, files, work, runs=1)["series"]
            theirs = copyparty_series(root, files, work)
            plot(args.plot, files, ours, theirs)
            benchlib.log(f"plot written to {args.plot}")
            results["plot"] = {
                "files": files,
                "mediasrv_s": ours[-1][0],
                "copyparty_s": theirs[-1][0] if theirs else None,
            }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    table = {k: v for k, v in results.items() if k != "plot"}
    if args.first_only:
        print(first_report(table, benchlib.command_line("bench_cold.py", argv)))
    elif table:
        print(report(table, benchlib.command_line("bench_cold.py", argv)))
    if "plot" in results:
        p = results["plot"]
        print(
            f"\nplot, {p['files']:,} files: mediasrv complete at {p['mediasrv_s']:.1f} s"
            + (f", copyparty at {p['copyparty_s']:.1f} s" if p["copyparty_s"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
