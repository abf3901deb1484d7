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
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import get_json, serve
from benchlib import percentile as pct

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


def get(base: str, endpoint: str, **params: Any) -> tuple[float, dict[str, Any]]:
    """(seconds, answer) of one request."""
    started = time.perf_counter()
    body = get_json(base, endpoint, **params)
    return time.perf_counter() - started, body


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
    cache = work / "cache"
    server = serve(root, cache, "--no-watch", "--rescan-interval", "0", "--state", args.state,
                   "--log-level", "warning", tree=args.checkout and args.checkout.resolve())
    base = server.base
    try:
        files = server.wait(what="the index", timeout=900)["files"]
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
        server.stop(60)
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
