#!/usr/bin/env python3
"""A closed-loop load generator: C clients, each sending the next request when its last answers.

    python scripts/bench_load.py http://127.0.0.1:8765 urls.json --concurrency 8 \
        --duration 10 --max-requests 200000 --out load.json

Runs in its own process so the server's event loop and GIL are its own. URLs
(a JSON list of paths) are taken in turn. Every request is recorded as
(wall-clock start, seconds, HTTP status; 0 for a connection error), so the
benchmark can tell requests made during a scan from the others.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

import aiohttp


async def run(base: str, urls: list[str], concurrency: int, duration: float,
              max_requests: int) -> dict[str, object]:
    records: list[tuple[float, float, int]] = []
    order = itertools.cycle(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        deadline = time.perf_counter() + duration

        async def client() -> None:
            while time.perf_counter() < deadline and len(records) < max_requests:
                url = next(order)
                wall, started = time.time(), time.perf_counter()
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                records.append((wall, time.perf_counter() - started, status))

        began = time.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        ended = time.time()
    return {"started": began, "ended": ended, "concurrency": concurrency, "records": records}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="http://127.0.0.1:PORT (loopback only)")
    parser.add_argument("urls", type=Path, help="JSON list of paths to request in turn")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds (a bound)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="a bound")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not args.base.startswith(("http://127.0.0.1:", "http://localhost:")):
        print("bench_load: only loopback targets are allowed", file=sys.stderr)
        return 2
    urls = json.loads(args.urls.read_text())
    result = asyncio.run(run(args.base, urls, args.concurrency, args.duration,
                             args.max_requests))
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
