#!/usr/bin/env python3
"""The watcher's notifiers compared: inotify (TreeWatch) against watchfiles, at 100k files.

    python scripts/bench_watch.py                     # 100k empty files in a temp dir
    python scripts/bench_watch.py --files 100000 --trials 15

For each notifier (``python -m mediasrv.watch --backend ...``) it measures:

- start-up: the app (``create_app``, no start-up scan) runs in this process
  while a task sleeps 1 ms at a time; the longest wake-up delay until the
  watcher says ``watching`` is the event loop's stall, and that moment is
  "ready";
- event → rescan request: a ``Watcher`` whose callback notes the time; one
  new file per trial, timed from just before its creation to the callback
  that names it (what ``server/app.py`` turns into ``request("watch", ...)``);
- the watch process's resident memory once ready;
- for watchfiles, the recovery after a read of a file whose name is not
  UTF-8: from the read until it is watching again (restart after a 1 s
  backoff, then a catch-up rescan of everything).

The library is zero-byte files made by ``scripts/make_library.py --empty``
in a temp dir, deleted afterwards. Prints a Markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import empty_library, proc_stats

from mediasrv.watch.watcher import Watcher

BACKENDS = ("inotify", "watchfiles")


def command_for(backend: str) -> Any:
    return lambda root, ignore, polling: [
        sys.executable, "-m", "mediasrv.watch", "--backend", backend, "--", root, *ignore]


async def startup(root: Path, cache: Path, backend: str | None = None) -> tuple[float, float]:
    """(seconds until watching, longest event-loop stall meanwhile) with the whole app.

    ``backend``: the notifier to start; None, the server's own choice.
    """
    from aiohttp import web

    from mediasrv.serve.leader import Leader, LeaderOptions
    from mediasrv.server import create_app
    from mediasrv.settings import Settings

    lags: list[float] = []

    async def probe() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - before - 0.001)

    prober = asyncio.create_task(probe())
    options = LeaderOptions(startup_scan=False)
    if backend is not None:
        options = dataclasses.replace(options, watch_command=command_for(backend))
    settings = Settings(root=root, cache_dir=cache, rescan_interval=0.0)
    leader = Leader(settings, options)
    app = create_app(settings, leader)
    runner = web.AppRunner(app)
    started = time.perf_counter()
    await runner.setup()
    while leader.watcher_status["state"] not in ("watching", "failed"):
        await asyncio.sleep(0.005)
    ready = time.perf_counter() - started
    prober.cancel()
    await runner.cleanup()
    return ready, max(lags)


async def latencies(root: Path, backend: str, trials: int) -> tuple[list[float], float]:
    """(seconds from a file's creation to the callback naming it, per trial; RSS in MB)."""
    seen: dict[str, float] = {}
    ready = asyncio.Event()

    def changed(paths: list[str] | None) -> None:
        for path in paths or ():
            seen.setdefault(path, time.perf_counter())

    def state(status: dict[str, Any]) -> None:
        if status["state"] == "watching":
            ready.set()

    watcher = Watcher(root, on_changes=changed, on_state=state, command=command_for(backend))
    task = asyncio.create_task(watcher.run())
    await ready.wait()
    assert watcher.process is not None
    rss = proc_stats(watcher.process.pid)["rss_mb"]
    folder = root / "BenchWatch"
    folder.mkdir(exist_ok=True)
    await asyncio.sleep(0.5)
    results = []
    for trial in range(trials):
        rel = f"BenchWatch/new-{trial:03}.jpg"
        started = time.perf_counter()
        (root / rel).write_bytes(b"")
        while rel not in seen:
            await asyncio.sleep(0.001)
        results.append(seen[rel] - started)
        await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    shutil.rmtree(folder)
    return results, rss


async def watchfiles_recovery(root: Path) -> tuple[float, int]:
    """(seconds from a read of an odd name until watching again, catch-up rescans asked)."""
    odd = os.path.join(os.fsencode(root), b"odd\xffname.jpg")
    with open(odd, "wb"):
        pass
    states: list[tuple[float, dict[str, Any]]] = []
    unknown = 0

    def changed(paths: list[str] | None) -> None:
        nonlocal unknown
        unknown += paths is None

    watcher = Watcher(root, on_changes=changed, command=command_for("watchfiles"),
                      on_state=lambda s: states.append((time.perf_counter(), s)))
    task = asyncio.create_task(watcher.run())
    while not states or states[-1][1]["state"] != "watching":
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    with open(odd, "rb") as f:
        f.read()
    while states[-1][1]["restarts"] < 1 or states[-1][1]["state"] != "watching":
        await asyncio.sleep(0.005)
    back = states[-1][0] - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    os.unlink(odd)
    return back, unknown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="library size (default 100000)")
    parser.add_argument("--trials", type=int, default=15, help="changes to time (default 15)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_watch-"))
    root = work / "lib"
    rows: dict[str, dict[str, Any]] = {}
    try:
        empty_library(root, args.files)
        folders = sum(len(dirs) for _, dirs, _ in os.walk(root)) + 1
        load = os.getloadavg()[0]
        for backend in BACKENDS:
            ready, stall = asyncio.run(startup(root, work / "cache", backend))
            lat, rss = asyncio.run(latencies(root, backend, args.trials))
            rows[backend] = {"ready": ready, "stall": stall, "lat": lat, "rss": rss}
            print(f"{backend}: ready {ready:.2f}s, stall {stall * 1000:.0f} ms, event->request "
                  f"median {statistics.median(lat) * 1000:.0f} ms, RSS {rss:.0f} MB",
                  file=sys.stderr)
        back, catch_ups = asyncio.run(watchfiles_recovery(root))
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def ms(xs: list[float]) -> str:
        return (f"{statistics.median(xs) * 1000:.0f} ms "
                f"(min {min(xs) * 1000:.0f}, max {max(xs) * 1000:.0f})")

    print(f"""
`python scripts/bench_watch.py --files {args.files} --trials {args.trials}`
({args.files:,} zero-byte files in {folders:,} folders; {os.cpu_count()} CPUs, load average
{load:.1f} at the start and {load_after:.1f} at the end)

| measure | inotify (TreeWatch) | watchfiles |
| --- | --- | --- |
| watcher ready after the app starts | {rows['inotify']['ready']:.2f} s | \
{rows['watchfiles']['ready']:.2f} s |
| longest event-loop stall meanwhile | {rows['inotify']['stall'] * 1000:.0f} ms | \
{rows['watchfiles']['stall'] * 1000:.0f} ms |
| file created → rescan requested, median of {args.trials} | {ms(rows['inotify']['lat'])} | \
{ms(rows['watchfiles']['lat'])} |
| watch process resident memory | {rows['inotify']['rss']:.0f} MB | \
{rows['watchfiles']['rss']:.0f} MB |
| a read of a file whose name is not UTF-8 | nothing happens | the watch ends; watching \
again {back:.2f} s later, then {catch_ups} full catch-up rescan |
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
