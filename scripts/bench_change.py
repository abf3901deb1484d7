#!/usr/bin/env python3
"""Change latency: how long until a file created, modified or deleted shows in the API.

    python scripts/bench_change.py                      # 100k empty files in a temp dir
    python scripts/bench_change.py --dir /tmp/lib1m --files 1000000 --trials 9

Makes (or reuses) a library with ``scripts/make_library.py --empty``, starts
``mediasrv serve`` on it (a subprocess on 127.0.0.1, watcher on, no interval
rescans), waits for the first index and for the watcher, then, trial after
trial, creates one new file and times until ``/api/files`` lists it, writes
to it and times until ``/api/file`` shows its new size, and deletes it and
times until it is gone. Each change reaches the index through the watcher's
paths, a targeted scan and a delta build; the mode and scope of every scan
are checked. It also times no-change full rescans (``POST /api/rescan?wait=1``
→ ``duration_s``) and reads the server's peak RSS (VmHWM). Prints medians and
a Markdown section for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchlib import empty_library, get_json, proc_stats, pyplot, serve

TAG = "ChangeBench"  # a folder of its own, so the API's total for it counts our files
POLL = 0.01


def post(base: str, path: str) -> dict[str, Any]:
    req = urllib.request.Request(base + path, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def idle(status: dict[str, Any]) -> bool:
    return not status["scanning"] and status["queued"] is None


def tag_total(base: str) -> int:
    try:
        return int(get_json(base, "/api/files", tag=TAG, limit=1)["total"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # the tag does not exist (yet)
            return 0
        raise


def timed_until(base: str, want: int, timeout: float = 60.0) -> float:
    """Seconds from now until the tag's total is ``want``."""
    return timed(lambda: tag_total(base) == want, timeout)


def size_of(base: str, path: str) -> int | None:
    try:
        return int(get_json(base, "/api/file", path=path)["file"]["size"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def timed(check: Any, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"bench_change: the change did not show within {timeout:.0f}s")
        time.sleep(POLL)
    return time.perf_counter() - started


def phase_breakdown(root: Path, cache: Path, new: Path) -> list[tuple[str, float]]:
    """Seconds per phase of a targeted scan of one new file (in this process, full priority)."""
    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    new.write_bytes(b"")
    marks: list[tuple[str, float]] = []

    def note(event: dict[str, object]) -> None:
        if not marks or marks[-1][0] != event["phase"]:
            marks.append((str(event["phase"]), time.perf_counter()))

    try:
        run_scan(root, CacheDir(cache), note, paths=[str(new.relative_to(root))])
    finally:
        new.unlink()
    end = time.perf_counter()
    return [(name, (marks[i + 1][1] if i + 1 < len(marks) else end) - t)
            for i, (name, t) in enumerate(marks)]


def measure(root: Path, cache: Path, bench_dir: Path, args: argparse.Namespace
            ) -> dict[str, Any]:
    """Start the server, time ``args.trials`` changes and ``args.rescans`` no-change rescans."""
    started = time.perf_counter()
    server = serve(root, cache, "--rescan-interval", "0", "--log-level", "warning",
                   "--state", args.state)
    base = server.base
    try:
        server.wait(what="the first index", timeout=600)
        first = time.perf_counter() - started
        watcher = server.wait(lambda s: s["watcher"]["state"] != "starting", "the watcher",
                              120)["watcher"]
        if watcher["state"] != "watching":
            raise SystemExit(f"bench_change: the watcher is {watcher}")
        files = int(get_json(base, "/api/status")["files"])
        print(f"indexed {files:,} files in {first:.1f}s (first start, includes server start-up)",
              file=sys.stderr)

        adds: list[float] = []
        edits: list[float] = []
        deletes: list[float] = []
        scan_times: list[float] = []
        modes: set[str] = set()

        def settle() -> None:
            server.wait(idle, "an idle server", 120)
            time.sleep(0.5)  # let the previous scan's last events settle

        def last_scan() -> None:
            scan = get_json(base, "/api/status")["last_scan"]
            scan_times.append(scan.get("scan_s") or scan["duration_s"])
            scope = "all" if scan["paths"] is None else "paths"
            modes.add(f"{scan.get('mode')}/{scope}")

        for trial in range(args.trials):
            settle()
            new = bench_dir / f"new-{trial:03}.jpg"
            rel = f"{TAG}/{new.name}"
            new.write_bytes(b"")
            adds.append(timed_until(base, 1))
            last_scan()
            settle()
            new.write_bytes(b"x" * (trial + 1))
            edits.append(timed(lambda rel=rel, n=trial + 1: size_of(base, rel) == n))
            last_scan()
            settle()
            new.unlink()
            deletes.append(timed_until(base, 0))
            last_scan()
            print(f"trial {trial + 1}: added {adds[-1]:.2f}s, modified {edits[-1]:.2f}s, "
                  f"deleted {deletes[-1]:.2f}s (scans {scan_times[-3:]})", file=sys.stderr)
        stats = proc_stats(server.proc.pid)
        peak, now = stats["peak_rss_mb"], stats["rss_mb"]

        server.wait(idle, "an idle server", 120)
        rescans: list[float] = []
        for _ in range(args.rescans):
            answer = post(base, "/api/rescan?wait=1")
            if answer["status"] != "unchanged":
                raise SystemExit(f"bench_change: a no-change rescan said {answer}")
            rescans.append(float(answer["duration_s"]))
        return {"files": files, "adds": adds, "edits": edits, "deletes": deletes,
                "scan_times": scan_times, "rescans": rescans, "modes": sorted(modes),
                "peak_rss_mb": peak, "rss_mb": now, "first_s": first}
    finally:
        server.stop()


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """Every trial's latency, per change kind, one column of dots per run."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    kinds = [("adds", "created", "o", "tab:blue"), ("edits", "modified", "s", "tab:orange"),
             ("deletes", "deleted", "^", "tab:green")]
    labels = []
    for x, result in enumerate(results):
        labels.append(f"{result['files']:,} files\n{result['state']}")
        for k, (key, name, marker, colour) in enumerate(kinds):
            ys = result[key]
            ax.scatter([x + (k - 1) * 0.18] * len(ys), ys, marker=marker, s=22, color=colour,
                       label=name if x == 0 else None, alpha=0.8)
    ax.set_xticks(range(len(results)), labels)
    ax.set_ylabel("change on disk → in the API (s)")
    ax.set_ylim(bottom=0)
    for goal, label in ((0.5, "goal at 100k: median 0.5 s"), (1.0, "goal at 1M: median 1 s")):
        ax.axhline(goal, color="grey", linestyle=":", linewidth=1)
        ax.text(0.99, goal, label, transform=ax.get_yaxis_transform(), ha="right",
                va="bottom", fontsize=8, color="grey")
    ax.legend(loc="upper left")
    ax.set_title("Change latency, watcher on, targeted scan + delta build")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="library folder (made if missing or empty; "
                        "default: a temp dir, removed afterwards)")
    parser.add_argument("--files", type=int, default=100_000, help="library size (default 100000)")
    parser.add_argument("--trials", type=int, default=7, help="changes to time (default 7)")
    parser.add_argument("--rescans", type=int, default=3, help="no-change rescans (default 3)")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite",
                        help="the server's snapshot backend (default sqlite)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--plot", type=Path, nargs="+", metavar=("PNG", "JSON"),
                        help="only draw PNG from earlier --json files")
    args = parser.parse_args(argv)
    if args.plot:
        plot([json.loads(p.read_text()) for p in args.plot[1:]], args.plot[0])
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench_change-"))
    root = args.dir or work / "lib"
    bench_dir = root / TAG
    try:
        empty_library(root, args.files)
        if bench_dir.exists():
            shutil.rmtree(bench_dir)
        bench_dir.mkdir()
        load_before = os.getloadavg()[0]
        r = measure(root, work / "cache", bench_dir, args)
        load_after = os.getloadavg()[0]
        phases = phase_breakdown(root, work / "cache", bench_dir / "one-more.jpg")
        # The app in this process (no start-up scan; the index exists), the
        # server's own notifier: as scripts/bench_watch.py measures it.
        import asyncio

        from bench_watch import startup
        ready, stall = asyncio.run(startup(root, work / "cache"))
    finally:
        shutil.rmtree(bench_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    r.update(state=args.state, phases=phases, watcher_ready_s=ready, watcher_stall_s=stall,
             load=[load_before, load_after])
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))

    def fmt(xs: list[float]) -> str:
        return f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"

    breakdown = ", ".join(f"{name} {seconds:.3f}" for name, seconds in phases)
    print(f"""
`python scripts/bench_change.py --files {args.files} --trials {args.trials} --state {args.state}`
({r['files']:,} files, zero-byte, made by `scripts/make_library.py --empty`; `mediasrv serve
--state {args.state}` with the watcher on; {os.cpu_count()} CPUs, load average
{load_before:.1f} at the start and {load_after:.1f} at the end; {args.trials} trials; scans
were {', '.join(r['modes'])} (mode/scope))

| measure | median (min, max) |
| --- | --- |
| file created → listed by `/api/files` | {fmt(r['adds'])} |
| file modified → new size in `/api/file` | {fmt(r['edits'])} |
| file deleted → gone from `/api/files` | {fmt(r['deletes'])} |
| the scan process (`scan_s`: targeted scan, delta build, publish) | {fmt(r['scan_times'])} |
| no-change full rescan (`POST /api/rescan?wait=1` → `duration_s`) | {fmt(r['rescans'])} |
| server peak RSS (VmHWM) / RSS at the end | {r['peak_rss_mb']:.0f} MB / {r['rss_mb']:.0f} MB |
| first index, from a cold start | {r['first_s']:.1f} s |

Watcher start-up: ready {ready:.2f} s after the app starts; the longest
event-loop stall meanwhile {stall * 1000:.0f} ms (the watch runs in its own process).
A one-file change's targeted scan run in-process at full priority, seconds
per phase: {breakdown}.
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
