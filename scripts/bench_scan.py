#!/usr/bin/env python3
"""Time one cold scan, one no-change rescan and each backend's open, in a fresh process.

    python scripts/bench_scan.py ROOT CACHE_DIR      (CACHE_DIR must not exist yet)

Prints one JSON object. Used by scripts/bench.py; a fresh process per run so
that no run profits from objects or caches an earlier run left in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.snapshot import open_snapshot


async def open_seconds(path: Path, state: str) -> float:
    started = time.perf_counter()
    snap = await open_snapshot(path, state)
    seconds = time.perf_counter() - started
    await snap.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the library")
    parser.add_argument("cache_dir", type=Path, help="a cache dir that does not exist yet")
    args = parser.parse_args()
    root, cache_dir = args.root, args.cache_dir
    if cache_dir.exists():
        print(f"bench_scan: {cache_dir} exists; a cold scan needs a new one", file=sys.stderr)
        return 2
    cache = CacheDir(cache_dir)
    started = time.perf_counter()
    cold = run_scan(root, cache)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    again = run_scan(root, cache)
    rescan_s = time.perf_counter() - started
    if again.status != "unchanged":
        print(f"bench_scan: the rescan found changes ({again.status})", file=sys.stderr)
        return 1
    path = Path(cold.db_path)
    opened = {state: asyncio.run(open_seconds(path, state)) for state in ("sqlite", "memory")}
    print(json.dumps({
        "files": cold.files, "cold_s": cold_s, "rescan_unchanged_s": rescan_s,
        "open_s": opened, "db_bytes": path.stat().st_size,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
