#!/usr/bin/env python3
"""Benchmark both snapshot backends side by side, on the same generated libraries.

    python scripts/bench.py                 # the full run (about half an hour on 2 cores)
    python scripts/bench.py --quick         # a small version, under a minute
    python scripts/bench.py --pages-only    # only what a page costs (bench_pages.py), ~5 min

For each backend, in one run: cold scan + build + publish at each size and a
no-change rescan (bench_scan.py, a fresh process per run); API latency and
throughput on /api/files pages and /api/file lookups, idle and during
back-to-back rescans (each a one-file delta), from a load generator in its
own process (bench_load.py, and wrk for throughput); the longest event-loop
pause at a swap, measured inside the server (bench_server.py); RSS, open fds
and threads before and after many rescans; peak RSS at the largest size.
Figures are medians of ``--repeat`` runs. Then what a page costs against a page
of one (issue 23: JSON pages of 1 and 100, grid pages), this checkout beside
``--before`` (bench_pages.py). Writes results.json, results.md and latency.png
to --out and prints, for each goal of issues 3 and 23, whether it is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import bench_pages
import bench_report
from benchlib import (
    CHURN,
    Served,
    child_env,
    command_line,
    free_port,
    latency_stats,
    launch,
    library,
    log,
    machine,
    median_of,
    proc_stats,
    q,
    tag_pages,
    toggle_churn,
)
from benchlib import wrk as run_wrk

HERE = Path(__file__).resolve().parent
BACKENDS = ("sqlite", "memory")
ENDPOINTS = ("files", "file")
CONCURRENCY = (1, 8)

FULL = {"sizes": [10_000, 100_000, 200_000], "main": 100_000, "repeat": 3, "duration": 8.0,
        "wrk_seconds": 8, "leak_rescans": 100, "plot_seconds": 40.0, "pages_seconds": 5}
QUICK = {"sizes": [2_000], "main": 2_000, "repeat": 1, "duration": 0.4,
         "wrk_seconds": 1, "leak_rescans": 5, "plot_seconds": 2.0, "pages_seconds": 1}


# -- scan timings ------------------------------------------------------------

def time_scans(work: Path, root: Path, repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        cache = work / f"scan-cache-{i}"
        shutil.rmtree(cache, ignore_errors=True)
        out = subprocess.run([sys.executable, str(HERE / "bench_scan.py"), str(root), str(cache)],
                             check=True, capture_output=True, text=True, env=child_env())
        shutil.rmtree(cache, ignore_errors=True)
        runs.append(json.loads(out.stdout))
    median = statistics.median
    return {
        "files": runs[0]["files"],
        "cold_s": median(r["cold_s"] for r in runs),
        "rescan_unchanged_s": median(r["rescan_unchanged_s"] for r in runs),
        "open_s": {s: median(r["open_s"][s] for r in runs) for s in BACKENDS},
        "db_mb": runs[0]["db_bytes"] / 2**20,
        "runs": runs,
    }


# -- the server under test ---------------------------------------------------

class Server:
    """bench_server.py in a child process, and a control session to it."""

    def __init__(self, root: Path, cache: Path, state: str, extra: tuple[str, ...] = ()) -> None:
        self.root, self.cache, self.state = root.resolve(), cache.resolve(), state
        self.extra = extra  # more bench_server.py options
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.served: Served | None = None
        self.session: aiohttp.ClientSession | None = None
        self.churned = 0

    @property
    def pid(self) -> int:
        assert self.served is not None
        return self.served.proc.pid

    async def start(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)
        self.served = launch([sys.executable, str(HERE / "bench_server.py"), str(self.root),
                              str(self.cache), "--state", self.state, "--port", str(self.port),
                              *self.extra], self.port)
        self.session = aiohttp.ClientSession(self.base, timeout=aiohttp.ClientTimeout(total=600))
        # up, first scan published, nothing queued
        await self.served.await_status(self.session, what="bench_server's index", timeout=600)

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.served is not None:
            await asyncio.to_thread(self.served.stop)
        shutil.rmtree(self.cache, ignore_errors=True)
        (self.root / CHURN).unlink(missing_ok=True)

    async def json(self, path: str, method: str = "GET") -> Any:
        assert self.session is not None
        async with self.session.request(method, path) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def rescan_with_change(self) -> dict[str, Any]:
        """Change one file, then rescan it and wait: every such rescan publishes a delta."""
        toggle_churn(self.root)
        self.churned += 1
        result = await self.json(f"/api/rescan?wait=1&path={CHURN}", method="POST")
        if result["status"] != "published" or result.get("mode") != "delta":
            raise RuntimeError(f"a rescan with a change did not publish a delta: {result}")
        return result

    @contextlib.asynccontextmanager
    async def rescanning(self) -> AsyncIterator[None]:
        """Back-to-back rescans for the body of the ``async with``."""
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                await self.rescan_with_change()

        task = asyncio.get_running_loop().create_task(loop())
        await asyncio.sleep(0.05)
        try:
            yield
        finally:
            stop.set()
            await task

    async def urls(self, seed: int = 7) -> dict[str, list[str]]:
        """Request paths for the load: pages at random offsets, lookups of random files."""
        rng = random.Random(seed)
        tags = (await self.json("/api/tags"))["tags"]
        total = tags[0]["count"]
        pages = tag_pages(tags, rng, 500)
        lookups = []
        for _ in range(10):
            page = await self.json(f"/api/files?offset={rng.randrange(max(total - 1000, 1))}"
                                   "&limit=1000")
            for f in rng.sample(page["files"], min(100, len(page["files"]))):
                folder = f["path"].rpartition("/")[0].rpartition("/")[2]
                tag = folder if folder and rng.random() < 0.5 else "All"
                lookups.append(f"/api/file?path={q(f['path'])}&tag={q(tag)}")
        return {"files": pages, "file": lookups}


# -- load ----------------------------------------------------------------------

async def load(server: Server, urls: list[str], concurrency: int, seconds: float,
               work: Path) -> dict[str, Any]:
    """Run bench_load.py against the server; its per-request records."""
    urls_file, out = work / "urls.json", work / "load.json"
    urls_file.write_text(json.dumps(urls))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "bench_load.py"), server.base, str(urls_file),
        "--concurrency", str(concurrency), "--duration", str(seconds), "--out", str(out),
    )
    if await proc.wait() != 0:
        raise RuntimeError("bench_load.py failed")
    return json.loads(out.read_text())


def load_stats(result: dict[str, Any]) -> dict[str, float]:
    """bench_load.py's records: requests, failures, latency and requests per second."""
    seconds = result["ended"] - result["started"]
    rps = len(result["records"]) / seconds if seconds > 0 else float("nan")
    return latency_stats(result["records"]) | {"rps": rps}


async def wrk(server: Server, urls: list[str], seconds: int, work: Path) -> dict[str, float]:
    """Throughput with wrk, 8 connections."""
    return await asyncio.to_thread(run_wrk, server.base, urls, seconds, 8, work)


# -- one backend ---------------------------------------------------------------

def swap_pauses(dump: dict[str, Any]) -> list[float]:
    """Longest loop lag (ms) in each swap: from 'open' (the server starts opening the new
    generation) to 50 ms after 'finished' (swapped, the old one retired)."""
    pauses, opened = [], None
    for event in dump["events"]:
        if event["event"] == "open":
            opened = event["t"]
        elif event["event"] == "finished" and opened is not None:
            if event["status"] == "published":
                window = [lag for t, lag in dump["lags"] if opened <= t <= event["t"] + 0.05]
                pauses.append(1000 * max(window, default=0.0))
            opened = None
    return pauses


def control_pauses(dump: dict[str, Any]) -> list[float]:
    """Longest loop lag (ms) in a 0.1 s window inside each scan's walk, away from any swap:
    what the scan process and the machine alone cost the loop (the control)."""
    pauses = []
    for event in dump["events"]:
        if event["event"] == "started":
            begin = event["t"] + 0.3
            window = [lag for t, lag in dump["lags"] if begin <= t <= begin + 0.1]
            pauses.append(1000 * max(window, default=0.0))
    return pauses


def pause_stats(pauses: list[float]) -> dict[str, float]:
    return {"swaps": len(pauses), "max": max(pauses, default=float("nan")),
            "median": statistics.median(pauses) if pauses else float("nan")}


def scan_windows(dump: dict[str, Any]) -> list[tuple[float, float]]:
    windows, began = [], None
    for event in dump["events"]:
        if event["event"] == "started":
            began = event["t"]
        elif event["event"] in ("finished", "failed") and began is not None:
            windows.append((began, event["t"]))
            began = None
    return windows


async def bench_backend(state: str, root: Path, work: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    server = Server(root, work / f"serve-{state}", state)
    out: dict[str, Any] = {"state": state}
    log(f"{state}: starting the server on {root.name} (first scan)")
    await server.start()
    try:
        out["started"] = proc_stats(server.pid)
        out["files"] = (await server.json("/api/status"))["files"]
        urls = await server.urls()
        await server.json("/bench/dump")
        loaded_pauses: list[float] = []  # swaps while requests were being served
        for phase in ("idle", "rescans"):
            table: dict[str, dict[str, Any]] = {}
            for c in CONCURRENCY:
                for ep in ENDPOINTS:
                    runs = []
                    for _ in range(cfg["repeat"]):
                        if phase == "idle":
                            result = await load(server, urls[ep], c, cfg["duration"], work)
                        else:
                            async with server.rescanning():
                                result = await load(server, urls[ep], c, cfg["duration"], work)
                        runs.append(load_stats(result))
                    table.setdefault(f"c{c}", {})[ep] = median_of(runs) | {"runs": runs}
                    log(f"{state} {phase} c={c} {ep}: {bench_report.brief(table[f'c{c}'][ep])}")
            out[phase] = table
            loaded_pauses += swap_pauses(await server.json("/bench/dump"))
        out["wrk"] = {}
        for ep in ENDPOINTS:
            runs = [await wrk(server, urls[ep], cfg["wrk_seconds"], work)
                    for _ in range(cfg["repeat"])]
            out["wrk"][ep] = median_of(runs) | {"runs": runs}
            log(f"{state} wrk c=8 {ep}: {out['wrk'][ep]['rps']:.0f} req/s")

        # Latency over time, idle first, then back-to-back rescans: the plot.
        await server.json("/bench/dump")
        plot_load = asyncio.get_running_loop().create_task(
            load(server, urls["files"], 1, cfg["plot_seconds"], work / "plot"))
        await asyncio.sleep(cfg["plot_seconds"] / 4)
        async with server.rescanning():
            result = await plot_load
        dump = await server.json("/bench/dump")
        loaded_pauses += swap_pauses(dump)
        out["timeline"] = {"records": result["records"], "scans": scan_windows(dump),
                           "lags": dump["lags"]}

        await asyncio.sleep(1.0)  # the last retired generation closes its connections
        out["before_rescans"] = proc_stats(server.pid)
        log(f"{state}: {cfg['leak_rescans']} rescans for the leak check")
        await server.json("/bench/dump")
        for _ in range(cfg["leak_rescans"]):
            await server.rescan_with_change()
        # The pause a swap itself causes: measured on these rescans, with no
        # requests in flight (under load, every request handled in one loop
        # step counts as lag too; that is reported separately).
        quiet = await server.json("/bench/dump")
        pauses = swap_pauses(quiet)
        out["control_lag_ms"] = pause_stats(control_pauses(quiet))
        await asyncio.sleep(1.0)
        out["after_rescans"] = proc_stats(server.pid)
        out["generation_files"] = sorted(p.name for p in server.cache.glob("gen-*"))
        out["swap_pause_ms"] = pause_stats(pauses)
        out["swap_lag_under_load_ms"] = pause_stats(loaded_pauses)
        out["peak_rss_mb"] = proc_stats(server.pid)["peak_rss_mb"]
    finally:
        await server.stop()
    return out


async def peak_rss(state: str, root: Path, work: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of a server on the largest library through start-up, rescans and load."""
    server = Server(root, work / f"peak-{state}", state)
    log(f"{state}: peak RSS on {root.name}")
    await server.start()
    try:
        urls = await server.urls()
        async with server.rescanning():
            for ep in ENDPOINTS:
                await load(server, urls[ep], 8, cfg["duration"], work)
        for _ in range(2):
            await server.rescan_with_change()
        stats = proc_stats(server.pid)
        stats["files"] = (await server.json("/api/status"))["files"] - server.churned % 2
    finally:
        await server.stop()
    return stats


# -- the whole run ---------------------------------------------------------------

async def run(cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    (work / "plot").mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "config": cfg, "scan": {}, "backends": {}}
    sizes = sorted(set(cfg["sizes"]) | {cfg["main"]})
    for n in sizes:
        root = library(work, n)
        log(f"scan timings at {n} files ({cfg['repeat']} runs)")
        results["scan"][str(n)] = time_scans(work, root, cfg["repeat"])
        log(f"  {bench_report.scan_brief(results['scan'][str(n)])}")
    main_root = library(work, cfg["main"])
    for state in BACKENDS:
        results["backends"][state] = await bench_backend(state, main_root, work, cfg)
    largest = max(sizes)
    for state in BACKENDS:
        if largest == cfg["main"]:
            peak = {"peak_rss_mb": results["backends"][state]["peak_rss_mb"],
                    "files": results["backends"][state]["files"]}
        else:
            peak = await peak_rss(state, library(work, largest), work, cfg)
        results["backends"][state]["peak_at_largest"] = peak
    results["page_cost"] = await asyncio.to_thread(
        bench_pages.run, work / "pages", cfg["main"], cfg["pages_seconds"], cfg["repeat"],
        cfg["before"])
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["goals"] = bench_report.goals(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--out", type=Path, default=Path("bench-out"),
                        help="where results.json, results.md and latency.png go")
    parser.add_argument("--work", type=Path, default=None,
                        help="generated libraries and caches (default: --out/work)")
    parser.add_argument("--repeat", type=int, help="runs per figure (median)")
    parser.add_argument("--duration", type=float, help="seconds per load measurement")
    parser.add_argument("--leak-rescans", type=int, help="rescans between fd/thread/RSS checks")
    parser.add_argument("--sizes", help="comma-separated library sizes for scan timings")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw latency.png from --out/timeline.json")
    parser.add_argument("--pages-only", action="store_true",
                        help="only what a page costs against a page of one (bench_pages.py)")
    parser.add_argument("--before", default="main",
                        help="the commit whose page costs are measured beside this checkout's")
    args = parser.parse_args(argv)
    if args.replot:
        cfg = json.loads((args.out / "results.json").read_text())["config"]
        timeline = json.loads((args.out / "timeline.json").read_text())
        bench_report.plot(timeline, args.out / "latency.png", cfg)
        return 0
    cfg = dict(QUICK if args.quick else FULL)
    cfg["quick"] = args.quick
    for key in ("repeat", "duration", "leak_rescans"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.sizes:
        cfg["sizes"] = [int(s) for s in args.sizes.split(",")]
    cfg["command"] = command_line("bench.py", argv)
    cfg["before"] = args.before
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    work = args.work or args.out / "work"
    args.out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    if args.pages_only:
        pages = bench_pages.run(work / "pages", cfg["main"], cfg["pages_seconds"],
                                cfg["repeat"], args.before)
        (args.out / "pages.json").write_text(json.dumps(pages, indent=1))
        print(bench_pages.report(pages))
        print(bench_pages.goal_lines(pages))
        return 0
    started = time.monotonic()
    results = asyncio.run(run(cfg, work))
    results["bench_seconds"] = time.monotonic() - started
    timeline = {s: b.pop("timeline") for s, b in results["backends"].items()}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "timeline.json").write_text(json.dumps(timeline))
    (args.out / "results.md").write_text(bench_report.markdown(results))
    bench_report.plot(timeline, args.out / "latency.png", cfg)
    print(bench_report.goal_lines(results["goals"]))
    print(f"bench: {results['bench_seconds']:.0f} s; wrote {args.out}/results.json, "
          f"results.md, latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
