#!/usr/bin/env python3
"""How long a swap holds the event loop: open a generation's readers, retire the old ones.

    python scripts/bench_swap.py --base COMMIT [--swaps 300] [--runs 3] [--load 8]

The same generation file is opened and the previous snapshot closed, over
and over, as the server does on every publish, while a ticker task measures
how late the event loop lets it run (every gap between two of its turns over
0.2 ms is a stall); with ``--load N``, N clients meanwhile send page queries
to whichever snapshot is current, one after another, and their latencies
are kept (the old snapshot is closed once its last query is done, as the
library waits for leases); ``--swaps 0`` runs that load for two seconds
without a swap, the baseline. Run in alternation in fresh processes for ``--base`` (a
commit, checked out once as a git worktree under the temp dir) and this
checkout. Prints, per tree, the median and the 99th percentile of the
stalls and the loop time per swap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, alternating, child_env, empty_library, export_tree, percentile


async def swaps(db: Path, count: int, load: int) -> dict[str, Any]:
    from mediasrv.snapshot import open_snapshot

    stalls: list[float] = []
    latencies: list[float] = []
    done = False
    busy: dict[int, int] = {}  # id(snapshot) -> queries in flight on it

    async def client(n: int) -> None:
        """Page queries one after another on whichever snapshot is current."""
        while not done:
            snap = current
            busy[id(snap)] = busy.get(id(snap), 0) + 1
            began = time.perf_counter()
            try:
                await snap.page("All", (n * 7919) % 1900, 50)
            finally:
                busy[id(snap)] -= 1
            latencies.append(time.perf_counter() - began)
            n += 1

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            if now - last > 0.0002:
                stalls.append(now - last)
            last = now

    current = await open_snapshot(db, "sqlite")
    tasks = [asyncio.create_task(ticker())]
    tasks += [asyncio.create_task(client(n)) for n in range(load)]
    await asyncio.sleep(0.05)
    stalls.clear()
    latencies.clear()
    started = time.perf_counter()
    if count == 0:  # the same load without swaps, for two seconds: the baseline
        await asyncio.sleep(2.0)
    for _ in range(count):
        new = await open_snapshot(db, "sqlite")
        old, current = current, new
        while busy.get(id(old), 0):  # its last reader done, as the library waits for leases
            await asyncio.sleep(0.0005)
        await old.close()
    elapsed = time.perf_counter() - started
    done = True
    await asyncio.gather(*tasks)
    await current.close()
    return {"stalls_ms": [s * 1000 for s in stalls], "swap_ms": elapsed / max(count, 1) * 1000,
            "loop_ms_per_swap": sum(stalls) / max(count, 1) * 1000,
            "latency_ms": [x * 1000 for x in latencies]}


def child(db: str, count: int, load: int) -> None:
    print(json.dumps(asyncio.run(swaps(Path(db), count, load))))


def query_ms(runs: list[dict[str, Any]], pct: float) -> str:
    """The ``pct`` percentile of the page queries' latency over ``runs``."""
    values = [x for r in runs for x in r.get("latency_ms", [])]
    return f"{percentile(values, pct):.2f} ms" if values else "-"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--swaps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0,
                        help="clients querying the current snapshot meanwhile (default 0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-swap-") as tmp:
        trees = {"base": export_tree(args.base, Path(tmp) / "base"), "this": REPO}
        lib, cache = empty_library(Path(tmp) / "lib", 2000), Path(tmp) / "cache"
        subprocess.run([sys.executable, "-m", "mediasrv", "scan", str(lib), "--cache-dir",
                        str(cache), "--log-level", "warning"], env=child_env(), cwd=REPO,
                       check=True, stdout=subprocess.DEVNULL)
        db = (cache / "current.db").resolve()  # the generation file, as the server opens it
        results: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
        for _, name in alternating(args.runs):
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(db),
                 str(args.swaps), str(args.load)],
                env=child_env(trees[name]), check=True, capture_output=True, text=True)
            results[name].append(json.loads(out.stdout))
    print(f"    python scripts/bench_swap.py {' '.join(sys.argv[1:])}\n")
    print("| tree | stalls per swap | median stall | p99 stall | longest | loop time per swap |"
          " swap, wall | query p50 | query p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        stalls = [s for r in runs for s in r["stalls_ms"]]
        n = max(args.swaps, 1) * len(runs)
        p99 = percentile(stalls, 99, empty=0.0)
        print(f"| {name} | {len(stalls) / n:.1f} | {statistics.median(stalls or [0]):.2f} ms"
              f" | {p99:.2f} ms | {max(stalls or [0]):.2f} ms"
              f" | {statistics.median(r['loop_ms_per_swap'] for r in runs):.2f} ms"
              f" | {statistics.median(r['swap_ms'] for r in runs):.2f} ms"
              f" | {query_ms(runs, 50)} | {query_ms(runs, 99)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
