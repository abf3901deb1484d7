#!/usr/bin/env python3
"""The server under benchmark: ``create_app`` plus an event-loop-lag probe.

    python scripts/bench_server.py ROOT CACHE_DIR --state sqlite --port 8765

Serves the JSON API as ``mediasrv serve`` does (no access log, no watcher,
no interval rescans) and adds, for the benchmark only:

- a probe task that sleeps 1 ms at a time and records by how much each wake-up
  was late: the longest pause of the event loop, measured inside the server;
- the time of every scan event (started, progress, finished, failed), and
  of the moment the coordinator starts opening a new generation ("open"):
  a swap is open, swap, retire, from there to "finished";
- ``GET /bench/dump``: both lists as JSON, emptied on reading.

Production code knows nothing of this; it lives here so mediasrv stays clean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from mediasrv.serve import coordinator
from mediasrv.serve.leader import Leader
from mediasrv.server import create_app, metrics
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

PROBE_INTERVAL = 0.001
RECORD_OVER = 0.0005  # lags below this are timer noise; kept out of the record

LAGS = web.AppKey("bench_lags", list)
EVENTS = web.AppKey("bench_events", list)


async def probe(lags: list[tuple[float, float]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(PROBE_INTERVAL)
        lag = loop.time() - before - PROBE_INTERVAL
        if lag > RECORD_OVER:
            lags.append((time.time(), lag))


async def record_events(app: web.Application) -> None:
    async with app[COORDINATOR].subscribe() as queue:
        while True:
            message = await queue.get()
            scan = message.get("scan") or {}
            app[EVENTS].append({
                "t": time.time(), "event": message["event"], "phase": scan.get("phase"),
                "generation": message.get("generation"), "status": scan.get("status"),
            })


def note_opens(app: web.Application) -> None:
    """Record when the coordinator starts opening a new generation: where a swap begins."""
    real_open = coordinator.open_snapshot

    async def open_and_note(*args: Any, **kwargs: Any) -> Any:
        app[EVENTS].append({"t": time.time(), "event": "open", "phase": None,
                            "generation": None, "status": None})
        return await real_open(*args, **kwargs)

    coordinator.open_snapshot = open_and_note  # type: ignore[assignment]


async def bench_ctx(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(probe(app[LAGS])), loop.create_task(record_events(app))]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def dump(request: web.Request) -> web.Response:
    lags, events = request.app[LAGS], request.app[EVENTS]
    body = {"lags": list(lags), "events": list(events)}
    lags.clear()
    events.clear()
    return web.json_response(body)


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(root=args.root, cache_dir=args.cache_dir, port=args.port,
                        state=args.state, watch=False, rescan_interval=0.0)
    app = create_app(settings, Leader(settings), components=[])
    if args.no_request_histogram:  # bench_metrics.py: the same server without it
        app.middlewares.remove(metrics.timing)
    app[LAGS] = []
    app[EVENTS] = []
    app.cleanup_ctx.append(bench_ctx)
    note_opens(app)
    app.router.add_get("/bench/dump", dump)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print(f"bench_server: listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-request-histogram", action="store_true",
                        help="serve without /metrics' request-timing middleware")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="bench_server: %(message)s")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
