#!/usr/bin/env python3
"""How long a swap holds the event loop: open a generation's readers, retire the old ones.

    python scripts/bench_swap.py --base COMMIT [--swaps 300] [--runs 3]

The same generation file is opened and the previous snapshot closed, over
and over, as the server does on every publish, while a ticker task measures
how late the event loop lets it run (every gap between two of its turns over
0.2 ms is a stall). Run in alternation in fresh processes for ``--base`` (a
commit, checked out once as a git worktree under the temp dir) and this
checkout. Prints, per tree, the median and the 99th percentile of the
stalls and the loop time per swap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


async def swaps(db: Path, count: int) -> dict[str, Any]:
    from mediasrv.snapshot import open_snapshot

    stalls: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            if now - last > 0.0002:
                stalls.append(now - last)
            last = now

    current = await open_snapshot(db, "sqlite")
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    stalls.clear()
    started = time.perf_counter()
    for _ in range(count):
        new = await open_snapshot(db, "sqlite")
        old, current = current, new
        await old.close()
    elapsed = time.perf_counter() - started
    done = True
    await task
    await current.close()
    return {"stalls_ms": [s * 1000 for s in stalls], "swap_ms": elapsed / count * 1000,
            "loop_ms_per_swap": sum(stalls) / count * 1000}


def child(db: str, count: int) -> None:
    print(json.dumps(asyncio.run(swaps(Path(db), count))))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--swaps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-swap-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base),
                        args.base], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        try:
            lib = Path(tmp) / "lib"
            subprocess.run([sys.executable, str(HERE / "make_library.py"), str(lib), "--files",
                            "2000", "--empty"], check=True, stdout=subprocess.DEVNULL)
            sys.path.insert(0, str(REPO))
            from mediasrv.cache import CacheDir
            from mediasrv.scanjob import run_scan
            db = run_scan(lib, CacheDir(Path(tmp) / "cache")).db_path
            results: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
            trees = {"base": base, "this": REPO}
            for run in range(args.runs):
                for name in (("base", "this") if run % 2 == 0 else ("this", "base")):
                    out = subprocess.run(
                        [sys.executable, str(Path(__file__).resolve()), "--child", str(db),
                         str(args.swaps)], env={**os.environ, "PYTHONPATH": str(trees[name])},
                        check=True, capture_output=True, text=True)
                    results[name].append(json.loads(out.stdout))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)],
                           check=False)
    print(f"    python scripts/bench_swap.py {' '.join(sys.argv[1:])}\n")
    print("| tree | stalls per swap | median stall | p99 stall | longest | loop time per swap |"
          " swap, wall |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        stalls = sorted(s for r in runs for s in r["stalls_ms"])
        n = args.swaps * len(runs)
        p99 = stalls[min(len(stalls) - 1, int(len(stalls) * 0.99))] if stalls else 0.0
        print(f"| {name} | {len(stalls) / n:.1f} | {statistics.median(stalls or [0]):.2f} ms"
              f" | {p99:.2f} ms | {max(stalls or [0]):.2f} ms"
              f" | {statistics.median(r['loop_ms_per_swap'] for r in runs):.2f} ms"
              f" | {statistics.median(r['swap_ms'] for r in runs):.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
