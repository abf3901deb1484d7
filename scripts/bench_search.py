#!/usr/bin/env python3
"""Search latency: a fixed mix of 20 queries against a running server, and its index size.

    python scripts/bench_search.py                         # 100k files, sqlite backend
    python scripts/bench_search.py --files 1000000 --state memory
    python scripts/bench_search.py --checkout /tmp/old     # the same, served by another checkout

Makes (or reuses, with --dir) a library of zero-byte files shaped like a
music collection, ``Artist 499/Album 19[live]/track 050.jpg`` (100 files a
folder), starts ``mediasrv serve`` on it (a subprocess on 127.0.0.1, no
watcher), and times each query of QUERIES through ``/api/search?limit=50``,
one at a time, ``--rounds`` times. While a second client runs the slowest
queries back to back, it also times ``/api/files`` pages (a search must never
hold up the rest). Prints p50 / p99 / max per query and overall, the sizes of
the search tables, and writes --json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

QUERIES = [
    # common words: most of the library matches
    "track", "jpg", "album", "artist", "track 1", "track 05", "t", "a",
    # several words, folder and name words mixed
    "artist 12 album 3", "album 19 track 050", "live track 0", "artist album track",
    "artist 1 track 1",
    # rare words
    "499", "artist 499", "track 099", "album 7 live",
    # no match
    "zzz", "nothing here", "track qqq",
]


def make_library(root: Path, files: int) -> None:
    per_folder = 100
    folders = max(files // per_folder, 1)
    albums = max(folders // 500, 1)
    made = 0
    for f in range(folders):
        folder = root / f"Artist {f // albums}" / f"Album {f % albums}[live]"
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(min(per_folder, files - made)):
            (folder / f"track {t:03d}.jpg").touch()
        made += per_folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(base: str, endpoint: str, **params: Any) -> tuple[float, dict[str, Any]]:
    url = base + endpoint + "?" + urllib.parse.urlencode(params)
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as resp:
        body = json.loads(resp.read())
    return time.perf_counter() - started, body


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def table_sizes(db: Path) -> dict[str, float]:
    """MB per table and index of the search (dbstat), and of the whole file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sizes = dict(conn.execute(
            "SELECT name, sum(pgsize) / 1e6 FROM dbstat GROUP BY name").fetchall())
    except sqlite3.Error:
        sizes = {}
    finally:
        conn.close()
    keep = {k: round(v, 1) for k, v in sizes.items() if "word" in k}
    keep["whole file"] = round(db.stat().st_size / 1e6, 1)
    return keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="library folder (made if missing)")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checkout", type=Path,
                        help="serve with the mediasrv of another checkout (to compare)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench_search-"))
    root = args.dir or work / "lib"
    if not root.exists() or not any(root.iterdir()):
        print(f"making {args.files:,} files under {root} …", file=sys.stderr)
        make_library(root, args.files)
    env = dict(os.environ)
    if args.checkout:
        env["PYTHONPATH"] = str(args.checkout)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cache = work / "cache"
    server = subprocess.Popen(
        [sys.executable, "-m", "mediasrv", "serve", str(root), "--port", str(port),
         "--cache-dir", str(cache), "--no-watch", "--rescan-interval", "0",
         "--state", args.state, "--log-level", "warning"],
        stdin=subprocess.DEVNULL, env=env, cwd=str(args.checkout or HERE.parent),
    )
    try:
        deadline = time.monotonic() + 900
        while True:
            try:
                status = get(base, "/api/status")[1]
                if status["generation"] is not None and not status["scanning"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("bench_search: no index after 15 minutes")
            time.sleep(0.2)
        files = status["files"]
        times: dict[str, list[float]] = {q: [] for q in QUERIES}
        found: dict[str, int] = {}
        get(base, "/api/search", q="warm up", limit=50)
        for _ in range(args.rounds):
            for query in QUERIES:
                seconds, body = get(base, "/api/search", q=query, limit=50)
                times[query].append(seconds)
                found[query] = len(body["files"])
        # Pages while the slowest queries run back to back in another client.
        slowest = sorted(QUERIES, key=lambda q: -max(times[q]))[:5]
        stop = threading.Event()

        def searching() -> None:
            while not stop.is_set():
                for query in slowest:
                    get(base, "/api/search", q=query, limit=50)

        page_times = []
        idle_pages = [get(base, "/api/files", offset=i * 997, limit=60)[0] for i in range(50)]
        thread = threading.Thread(target=searching)
        thread.start()
        try:
            for i in range(100):
                page_times.append(get(base, "/api/files", offset=i * 991, limit=60)[0])
        finally:
            stop.set()
            thread.join()
        sizes = table_sizes(Path(os.path.realpath(cache / "current.db")))
    finally:
        server.terminate()
        server.wait(60)
        # The cache, and the library too unless --dir named one outside it.
        shutil.rmtree(work, ignore_errors=True)

    every = [t for ts in times.values() for t in ts]
    result = {
        "files": files, "state": args.state, "checkout": str(args.checkout or "this"),
        "rounds": args.rounds, "p50_ms": pct(every, 50) * 1e3, "p99_ms": pct(every, 99) * 1e3,
        "max_ms": max(every) * 1e3,
        "queries": {q: {"p50_ms": pct(ts, 50) * 1e3, "max_ms": max(ts) * 1e3, "found": found[q]}
                    for q, ts in times.items()},
        "pages_idle_ms": {"p50": pct(idle_pages, 50) * 1e3, "max": max(idle_pages) * 1e3},
        "pages_during_searches_ms": {"p50": pct(page_times, 50) * 1e3,
                                     "max": max(page_times) * 1e3},
        "sizes_mb": sizes,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(f"{files:,} files, {args.state}, {args.checkout or 'this checkout'}: "
          f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
          f"max {result['max_ms']:.1f} ms over {len(every)} searches")
    for q, r in result["queries"].items():
        print(f"  {q!r:26} p50 {r['p50_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  "
              f"{r['found']} found")
    print(f"  /api/files pages: idle p50 {result['pages_idle_ms']['p50']:.1f} ms, max "
          f"{result['pages_idle_ms']['max']:.1f} ms; during searches p50 "
          f"{result['pages_during_searches_ms']['p50']:.1f} ms, max "
          f"{result['pages_during_searches_ms']['max']:.1f} ms")
    print(f"  sizes (MB): {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
