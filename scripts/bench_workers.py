#!/usr/bin/env python3
"""Throughput of `mediasrv serve --workers N` with wrk: one port, N processes.

    python scripts/bench_workers.py                 # 100k files, 1 and 2 workers
    python scripts/bench_workers.py --quick         # 2k files, a second per run

For each N: start ``mediasrv serve ROOT --workers N`` (one leader and N-1
followers sharing the port through SO_REUSEPORT), wait until every process
serves the index, then run wrk (C, one thread, --connections connections) on
/api/files pages and on /api/file lookups, --repeat times each (the median is
reported), and read how much CPU each server process used meanwhile (from
/proc), which shows how the kernel spread the connections. Writes
workers.json and workers.md to --out; the library lives under --work (a temp
dir, deleted afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from benchlib import (
    command_line,
    cpu_seconds,
    library,
    log,
    machine,
    median_of,
    proc_stats,
    q,
    serve,
    tag_pages,
    wrk,
)

FULL = {"files": 100_000, "workers": [1, 2], "seconds": 8, "repeat": 3, "connections": 16}
QUICK = {"files": 2_000, "workers": [1, 2], "seconds": 1, "repeat": 1, "connections": 16}


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def is_server(pid: int) -> bool:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return b"serve" in args or b"mediasrv.cli.worker" in args


async def wait_ready(base: str, workers: int) -> dict[str, Any]:
    """Until every process answers, on the same generation, with no scan running or queued."""
    async with aiohttp.ClientSession() as session:
        for _ in range(12_000):
            seen: dict[str, dict[str, Any]] = {}
            try:
                for _ in range(20 * workers):
                    async with session.get(base + "/api/status",
                                           headers={"Connection": "close"}) as resp:
                        status = await resp.json()
                    seen[str(status.get("role"))] = status
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
                continue
            leader = seen.get("leader")
            roles_ok = len(seen) == (1 if workers == 1 else 2)
            if leader and roles_ok and leader["generation"] and not leader["scanning"] \
                    and not leader["queued"] and len({s["generation"] for s in seen.values()}) == 1:
                return leader
            await asyncio.sleep(0.1)
    raise RuntimeError("the workers never became ready")


async def urls(base: str) -> dict[str, list[str]]:
    rng = random.Random(7)
    async with aiohttp.ClientSession(base) as session:
        async with session.get("/api/tags") as resp:
            tags = (await resp.json())["tags"]
        pages = tag_pages(tags, rng, 500)
        lookups = []
        for _ in range(5):
            offset = rng.randrange(max(tags[0]["count"] - 1000, 1))
            async with session.get(f"/api/files?offset={offset}&limit=1000") as resp:
                files = (await resp.json())["files"]
            lookups += [f"/api/file?path={q(f['path'])}&tag=All"
                        for f in rng.sample(files, min(100, len(files)))]
    return {"files": pages, "file": lookups}


def run_workers(n: int, root: Path, work: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    cache = work / f"cache-{n}"
    shutil.rmtree(cache, ignore_errors=True)
    served = serve(root, cache, "--workers", str(n), "--no-watch", "--rescan-interval", "0",
                   "--log-level", "warning", log=work / f"workers-{n}.log")
    base, proc = served.base, served.proc
    try:
        log(f"{n} worker(s): first scan of {cfg['files']:,} files")
        asyncio.run(wait_ready(base, n))
        pids = [proc.pid, *[c for c in children(proc.pid) if c != proc.pid]]
        servers = [p for p in pids if is_server(p)]  # not a scan or watch process
        paths = asyncio.run(urls(base))
        out_n: dict[str, Any] = {"workers": n, "processes": len(servers)}
        for ep in ("files", "file"):
            runs, shares = [], []
            for _ in range(cfg["repeat"]):
                before = {p: cpu_seconds(p) for p in servers}
                runs.append(wrk(base, paths[ep], cfg["seconds"], cfg["connections"], work))
                used = {p: cpu_seconds(p) - before[p] for p in servers}
                shares.append([round(used[p], 2) for p in servers])
            median = median_of(runs)
            out_n[ep] = median | {"runs": runs, "cpu_s_per_process": shares}
            log(f"{n} worker(s) /api/{ep}: {median['rps']:.0f} req/s, p99 "
                f"{median['p99_ms']:.1f} ms, CPU s per process {shares[-1]}")
        out_n["rss_mb"] = [round(proc_stats(p)["rss_mb"], 1) for p in servers]
        return out_n
    finally:
        served.stop(60)
        shutil.rmtree(cache, ignore_errors=True)


def markdown(r: dict[str, Any]) -> str:
    cfg = r["config"]
    rows = ["| workers | endpoint | req/s | p50 ms | p99 ms | failed | CPU s per process "
            f"(of {cfg['seconds']} s) |", "| ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for w in r["runs"]:
        for ep in ("files", "file"):
            s = w[ep]
            rows.append(f"| {w['workers']} | /api/{ep} | {s['rps']:,.0f} | {s['p50_ms']:.1f} | "
                        f"{s['p99_ms']:.1f} | {s['failed']:.0f} | "
                        f"{' + '.join(map(str, s['cpu_s_per_process'][-1]))} |")
    one, two = r["runs"][0], r["runs"][-1]
    ratios = ", ".join(f"/api/{ep} {two[ep]['rps'] / one[ep]['rps']:.2f}x"
                       for ep in ("files", "file"))
    return "\n".join([
        f"{r['files']:,} files, wrk -t1 -c{cfg['connections']}, {cfg['seconds']} s per run, "
        f"median of {cfg['repeat']}; {r['machine']['cpus']} CPUs (wrk runs on them too), load "
        f"average {r['machine']['loadavg_at_start'][0]:.1f} at the start.", "", *rows, "",
        f"{two['workers']} workers / 1: {ratios}. RSS per process (MB): "
        + "; ".join(f"{w['workers']} worker(s): {w['rss_mb']}" for w in r["runs"]) + ".", "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--files", type=int)
    parser.add_argument("--workers", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--out", type=Path, default=Path("bench-workers"))
    parser.add_argument("--work", type=Path, help="library and caches (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep --work afterwards")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_workers: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    cfg = dict(QUICK if args.quick else FULL)
    if args.files:
        cfg["files"] = args.files
    if args.workers:
        cfg["workers"] = [int(n) for n in args.workers.split(",")]
    cfg["command"] = command_line("bench_workers.py", argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="mediasrv-workers-"))
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {"config": cfg, "files": cfg["files"], "machine": machine()}
    try:
        root = library(work, cfg["files"])
        results["runs"] = [run_workers(n, root, work, cfg) for n in cfg["workers"]]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["bench_seconds"] = time.monotonic() - started
    (args.out / "workers.json").write_text(json.dumps(results, indent=1))
    (args.out / "workers.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
