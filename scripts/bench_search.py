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

``--in-process`` times the search itself, without HTTP: for each library
shape (``music``: the one above; ``places``: ``Country NN/City NN [trip]/Day
NNNNNN beach/IMG_NNNN.jpg``, 5 files a folder, so 100k folders at 500k files),
the generation is built from records made in memory (no files on disk) and
each query of the shape's mix (most of them matching folder names) is timed
through ``Snapshot.search(q, 50)`` in a worker process. ``--base REV`` times
the same mix, on a generation built by that commit's code, in the same run:

    python scripts/bench_search.py --in-process --base main --json search-inproc.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchlib import REPO, child_env, command_line, export_tree, get_json, log, machine, serve
from benchlib import percentile as pct

QUERIES = [
    # common words: most of the library matches
    "track",
    "jpg",
    "album",
    "artist",
    "track 1",
    "track 05",
    "t",
    "a",
    # several words, folder and name words mixed
    "artist 12 album 3",
    "album 19 track 050",
    "live track 0",
    "artist album track",
    "artist 1 track 1",
    # rare words
    "499",
    "artist 499",
    "track 099",
    "album 7 live",
    # no match
    "zzz",
    "nothing here",
    "track qqq",
]


# The in-process mixes: most queries match folder names (alone, with name words, prefixes).
MIXES = {
    "music": [
        *QUERIES,
        "artist 1 live",
        "mp3 album",
        "alb",
        "live track",
        "artist 4",
        "ar",
        "album 00",
        "gif",
        "live",
        "l",
    ],
    "places": [
        "beach",
        "day",
        "trip",
        "country",
        "city",
        "b",
        "c",
        "d",
        "t",
        "country 12",
        "city 3 beach",
        "day 0001",
        "day 099999",
        "country 49 city 49",
        "trip beach day",
        "img",
        "img 0001",
        "beach img 5",
        "country 7 img 9999",
        "c 1 b",
        "zzz",
        "beach qqq",
        "049",
        "12",
        "1",
        "0",
        "day 5 img 1",
        "city 07 day 01234",
    ],
}
SHAPES = {"music": 1_000_000, "places": 500_000}  # files: 10k and 100k folders


def shape_paths(shape: str, files: int) -> Iterator[str]:
    """The relative paths of a library of ``shape`` (see the module's docstring)."""
    if shape == "music":
        folders = max(files // 100, 1)
        albums = max(folders // 500, 1)
        for n in range(files):
            f = n // 100
            yield f"Artist {f // albums}/Album {f % albums}[live]/track {n % 100:03d}.jpg"
        return
    for n in range(files):
        f = n // 5  # 2,000 folders a country, 40 a city
        yield (
            f"Country {f // 2000:02d}/City {f // 40 % 50:02d} [trip]/Day {f:06d} beach/"
            f"IMG_{n % 10000:04d}.jpg"
        )


def worker(shape: str, files: int, db: Path, rounds: int) -> dict[str, Any]:
    """(In a child whose PYTHONPATH is the tree measured.) Build, then time the mix."""
    import asyncio

    from mediasrv.scan.fullbuild import write
    from mediasrv.scan.walk import Record
    from mediasrv.snapshot import open_snapshot

    spent = []  # seconds in write_word_folders, where the code has it
    try:
        from mediasrv.index import words
    except ImportError:
        words = None
    if words is not None and hasattr(words, "write_word_folders"):
        real = words.write_word_folders

        def timed_write(*args: Any) -> None:
            t = time.perf_counter()
            real(*args)
            spent.append(time.perf_counter() - t)

        words.write_word_folders = timed_write
    started = time.perf_counter()
    write(
        db,
        1,
        [Record(p, 0, 1_600_000_000_000_000_000) for p in shape_paths(shape, files)],
        root=f"/bench/{shape}",
    )
    built = time.perf_counter() - started

    async def timed() -> tuple[dict[str, list[float]], dict[str, int]]:
        snap = await open_snapshot(db, "sqlite")
        times: dict[str, list[float]] = {q: [] for q in MIXES[shape]}
        found = {}
        try:
            for query in MIXES[shape]:  # the first read of each list, not timed
                found[query] = len(await snap.search(query, 50))
            for _ in range(rounds):
                for query in MIXES[shape]:
                    t = time.perf_counter()
                    await snap.search(query, 50)
                    times[query].append(time.perf_counter() - t)
        finally:
            await snap.close()
        return times, found

    times, found = asyncio.run(timed())
    return {
        "build_s": built,
        "word_folders_s": sum(spent) if spent else None,
        "sizes_mb": table_sizes(db),
        "times": times,
        "found": found,
        "delta_ms": deltas(shape, files, db, rounds),
    }


def deltas(shape: str, files: int, db: Path, rounds: int) -> dict[str, dict[str, float]]:
    """(In the worker.) A delta generation of one file added to the middle folder, after its
    last file and before its first (which moves the folder's search rows): ms to copy the
    generation and to write the change into the copy (plan + apply), medians of ``rounds``."""
    from mediasrv.index import db as dbs
    from mediasrv.index.filerows import write_meta
    from mediasrv.scan import delta
    from mediasrv.scan.walk import Record

    middle = next(itertools.islice(shape_paths(shape, files), files // 2, None))
    folder = middle.rpartition("/")[0]
    listing = [
        Record(p, 0, 1_600_000_000_000_000_000)
        for p in shape_paths(shape, files)
        if p.rpartition("/")[0] == folder
    ]
    found: dict[str, dict[str, float]] = {}
    for case, name in (("last", "zz new.jpg"), ("first", "aa new.jpg")):
        copies, writes = [], []
        for _ in range(rounds):
            tmp = db.with_suffix(".delta")
            started = time.perf_counter()
            delta.copy_file(db, tmp)
            copied = time.perf_counter()
            current, conn = dbs.connect_ro(db), dbs.connect_build(tmp)
            try:
                the_plan = delta.plan(
                    current,
                    {folder: [*listing, Record(f"{folder}/{name}", 0, 1_600_000_000_000_000_000)]},
                )
                delta.apply(
                    conn, the_plan, {}, lambda c, counts: write_meta(c, 2, "/bench", counts, {})
                )
            finally:
                current.close()
                conn.close()
            writes.append(time.perf_counter() - copied)
            copies.append(copied - started)
            tmp.unlink()
        found[case] = {
            "copy": statistics.median(copies) * 1e3,
            "write": statistics.median(writes) * 1e3,
        }
    return found


def in_process(args: argparse.Namespace) -> dict[str, Any]:
    """Each shape, with this checkout and (--base) another commit, in worker processes."""
    work = Path(tempfile.mkdtemp(prefix="bench_search-"))
    trees: dict[str, Path | None] = {"this": None}
    if args.base:
        trees = {"base": export_tree(args.base, work / "base"), **trees}
    result: dict[str, Any] = {}
    try:
        for shape in args.shapes:
            files = args.files or SHAPES[shape]
            for name, tree in trees.items():
                db = work / f"{shape}-{name}.db"
                log(f"{shape}, {files:,} files, {name}: building and searching")
                out = subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--worker",
                        shape,
                        str(files),
                        str(db),
                        str(args.rounds),
                    ],
                    env=child_env(tree),
                    cwd=str(tree or REPO),
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                db.unlink()
                got = json.loads(out)
                every = [t for ts in got["times"].values() for t in ts]
                got.update(
                    files=files,
                    p50_ms=pct(every, 50) * 1e3,
                    p99_ms=pct(every, 99) * 1e3,
                    max_ms=max(every) * 1e3,
                    per_query={
                        q: {
                            "p50_ms": pct(ts, 50) * 1e3,
                            "max_ms": max(ts) * 1e3,
                            "found": got["found"][q],
                        }
                        for q, ts in got.pop("times").items()
                    },
                )
                result[f"{shape}/{name}"] = got
                print(
                    f"{shape} ({files:,} files), {name}: p50 {got['p50_ms']:.2f} ms, max "
                    f"{got['max_ms']:.2f} ms (p99 {got['p99_ms']:.2f})"
                    f" over {len(every)} searches;"
                    f" build "
                    f"{got['build_s']:.1f} s (word_folders {got['word_folders_s']});"
                    f" sizes (MB) {got['sizes_mb']}; one file added"
                    f" (copy / write, ms): {got['delta_ms']}"
                )
                for q, r in got["per_query"].items():
                    print(
                        f"  {q!r:24} p50 {r['p50_ms']:8.2f} ms  max {r['max_ms']:8.2f} ms  "
                        f"{r['found']} found"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "command": command_line("bench_search.py", None),
        "machine": machine(),
        "rounds": args.rounds,
        "results": result,
    }


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
        sizes = dict(
            conn.execute("SELECT name, sum(pgsize) / 1e6 FROM dbstat GROUP BY name").fetchall()
        )
    except sqlite3.Error:
        sizes = {}
    finally:
        conn.close()
    keep = {k: round(v, 1) for k, v in sizes.items() if "word" in k}
    keep["whole file"] = round(db.stat().st_size / 1e6, 1)
    return keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, help="files in the library (100,000; --in-process: per shape)"
    )
    parser.add_argument("--dir", type=Path, help="library folder (made if missing)")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--checkout", type=Path, help="serve with the mediasrv of another checkout (to compare)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="time Snapshot.search without HTTP on the music and places shapes",
    )
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=sorted(SHAPES))
    parser.add_argument("--base", help="with --in-process: also measure this commit's code")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        shape, files, db, rounds = args.worker
        print(json.dumps(worker(shape, int(files), Path(db), int(rounds))))
        return 0
    if args.in_process:
        result = in_process(args)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench_search-"))
    root = args.dir or work / "lib"
    if not root.exists() or not any(root.iterdir()):
        print(f"making {args.files or 100_000:,} files under {root} …", file=sys.stderr)
        make_library(root, args.files or 100_000)
    cache = work / "cache"
    server = serve(
        root,
        cache,
        "--no-watch",
        "--rescan-interval",
        "0",
        "--state",
        args.state,
        "--log-level",
        "warning",
        tree=args.checkout and args.checkout.resolve(),
    )
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
        "files": files,
        "state": args.state,
        "checkout": str(args.checkout or "this"),
        "rounds": args.rounds,
        "p50_ms": pct(every, 50) * 1e3,
        "p99_ms": pct(every, 99) * 1e3,
        "max_ms": max(every) * 1e3,
        "queries": {
            q: {"p50_ms": pct(ts, 50) * 1e3, "max_ms": max(ts) * 1e3, "found": found[q]}
            for q, ts in times.items()
        },
        "pages_idle_ms": {"p50": pct(idle_pages, 50) * 1e3, "max": max(idle_pages) * 1e3},
        "pages_during_searches_ms": {
            "p50": pct(page_times, 50) * 1e3,
            "max": max(page_times) * 1e3,
        },
        "sizes_mb": sizes,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(
        f"{files:,} files, {args.state}, {args.checkout or 'this checkout'}: "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms over {len(every)} searches"
    )
    for q, r in result["queries"].items():
        print(
            f"  {q!r:26} p50 {r['p50_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  {r['found']} found"
        )
    print(
        f"  /api/files pages: idle p50 {result['pages_idle_ms']['p50']:.1f} ms, max "
        f"{result['pages_idle_ms']['max']:.1f} ms; during searches p50 "
        f"{result['pages_during_searches_ms']['p50']:.1f} ms, max "
        f"{result['pages_during_searches_ms']['max']:.1f} ms"
    )
    print(f"  sizes (MB): {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
