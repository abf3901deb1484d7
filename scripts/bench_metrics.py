#!/usr/bin/env python3
"""What /metrics' request histogram costs: pages and lookups per second with and without it.

    python scripts/bench_metrics.py                # 20,000 files, 5 rounds of 5 s per case
    python scripts/bench_metrics.py --quick        # a small version, under a minute

Two bench_server.py processes on the same library and generation, one with
the request-timing middleware and one without (``--no-request-histogram``),
both up for the whole run; each round loads one, then the other (the order
alternating from round to round), with the same URLs from bench_load.py (8
connections, closed loop): pages of /api/files and /api/file lookups. The
figures are medians over the rounds; the overhead is 1 - with / without.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402

VARIANTS = ("with", "without")


async def run(files: int, rounds: int, seconds: float, work: Path) -> dict[str, Any]:
    root = bench.library(work, files)
    servers = {"with": bench.Server(root, work / "cache-with", "sqlite"),
               "without": bench.Server(root, work / "cache-without", "sqlite",
                                       ("--no-request-histogram",))}
    rps: dict[tuple[str, str], list[float]] = {}
    try:
        for server in servers.values():
            await server.start()
        urls = await servers["with"].urls()
        for n in range(rounds):
            order = VARIANTS if n % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                for endpoint in bench.ENDPOINTS:
                    result = await bench.load(servers[variant], urls[endpoint], 8, seconds, work)
                    stats = bench.load_stats(result)
                    if stats["failed"]:
                        statuses = collections.Counter(
                            r[2] for r in result["records"] if r[2] != 200)
                        raise RuntimeError(f"{stats['failed']} requests failed ({variant}):"
                                           f" {dict(statuses)} (0: no connection)")
                    rps.setdefault((variant, endpoint), []).append(stats["rps"])
                    bench.log(f"round {n + 1} {variant} {endpoint}: {stats['rps']:.0f} req/s")
    finally:
        for server in servers.values():
            await server.stop()
    medians = {f"{v} {e}": statistics.median(r) for (v, e), r in rps.items()}
    return {"observe_us": round(observe_cost(), 2), "files": files, "rounds": rounds,
            "seconds": seconds, "rps": rps_lists(rps),
            "median_rps": medians,
            "overhead_pct": {e: 100 * (1 - medians[f"with {e}"] / medians[f"without {e}"])
                             for e in bench.ENDPOINTS}}


def observe_cost(calls: int = 200_000) -> float:
    """Microseconds the middleware adds to one request, measured alone: the clock
    twice, the labels' child and one observe (its route pattern is an attribute)."""
    from aiohttp import web

    from mediasrv.server.metrics import Metrics

    requests = Metrics(web.Application()).requests
    started = time.perf_counter()
    for _ in range(calls):
        t = time.perf_counter()
        requests.labels("/api/files", "GET", "200").observe(time.perf_counter() - t)
    return 1e6 * (time.perf_counter() - started) / calls


def rps_lists(rps: dict[tuple[str, str], list[float]]) -> dict[str, list[float]]:
    return {f"{v} {e}": [round(x, 1) for x in r] for (v, e), r in rps.items()}


def table(result: dict[str, Any]) -> str:
    names = {"files": "pages (`/api/files`, 100 a page)", "file": "lookups (`/api/file`)"}
    lines = ["| requests | with the histogram (req/s) | without (req/s) | cost |",
             "| --- | ---: | ---: | ---: |"]
    for e in bench.ENDPOINTS:
        m = result["median_rps"]
        lines.append(f"| {names[e]} | {m[f'with {e}']:.0f} | {m[f'without {e}']:.0f} "
                     f"| {result['overhead_pct'][e]:+.1f} % |")
    lines.append("")
    lines.append(f"The middleware alone: {result['observe_us']:.2f} µs a request.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="2,000 files, 2 rounds of 1 s")
    parser.add_argument("--work", type=Path, default=None, help="where libraries are kept")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.files, args.rounds, args.seconds = 2_000, 2, 1.0
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(run(args.files, args.rounds, args.seconds, work))
    finally:
        if args.work is None:  # a library of our own: gone with the run (kept with --work)
            shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
