#!/usr/bin/env python3
"""Where a photo's details and a song's tags are kept: side tables or columns on ``files``.

    python scripts/bench_details_layout.py [--files 100000] [--dir /tmp/bench-layout]

Writes two SQLite files of ``--files`` photos in folders of 100, each photo
stating all nine details (the worst case for side tables): one with the 17
columns of migrations/0009_details.sql added to ``files``, one with them in
the side tables ``file_details`` and ``file_audio`` (what schema 9 chose). It
prints each file's size, its bulk load time and the time of a page of 100
files with a song's 8 tags (from the columns, or a LEFT JOIN of
``file_audio`` by primary key), median of 2,000 random pages.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

FILES = (
    "id INTEGER PRIMARY KEY, folder_id INT, pos INT, path TEXT, path_bytes BLOB,"
    " name TEXT, ext TEXT, kind TEXT, size INT, mtime_ns INT, width INT, height INT,"
    " duration REAL, thumb_key TEXT, taken_ns INT"
)
DETAILS = (
    "camera_make TEXT, camera_model TEXT, lens TEXT, focal_length_mm REAL,"
    " f_number REAL, exposure_time_s REAL, iso INT, gps_lat REAL, gps_lon REAL"
)
AUDIO = (
    "title TEXT, artist TEXT, album TEXT, album_artist TEXT, track INT, disc INT,"
    " year INT, genre TEXT"
)
STATED = ("Canon", "Canon EOS 5D", "EF24-105mm f/4L", 50.0, 4.0, 0.004, 200, 48.1, 11.5)
SELECT = (
    "f.path, f.ext, f.kind, f.size, f.mtime_ns, f.width, f.height, f.duration,"
    " f.taken_ns, {a}title, {a}artist, {a}album, {a}album_artist, {a}track, {a}disc,"
    " {a}year, {a}genre"
)


def build(path: Path, columns: bool, count: int) -> float:
    """Write the file; seconds taken."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    extra = f", {DETAILS}, {AUDIO}" if columns else ""
    conn.execute(f"CREATE TABLE files ({FILES}{extra})")
    conn.execute(f"CREATE TABLE file_details (file_id INTEGER PRIMARY KEY, {DETAILS})")
    conn.execute(f"CREATE TABLE file_audio (file_id INTEGER PRIMARY KEY, {AUDIO})")
    conn.execute("BEGIN")
    rows = [
        (
            i << 16,
            i // 100,
            i % 100,
            f"Trips/2024/f{i // 100}/IMG_{i:06d}.jpg",
            None,
            f"IMG_{i:06d}.jpg",
            "jpg",
            "image",
            2_000_000 + i,
            1_600_000_000 * 10**9 + i,
            4032,
            3024,
            None,
            None,
            1_600_000_000 * 10**9 + i,
        )
        for i in range(count)
    ]
    if columns:
        conn.executemany(
            f"INSERT INTO files VALUES ({', '.join('?' * 32)})",
            [(*r, *STATED, *(None,) * 8) for r in rows],
        )
    else:
        conn.executemany(f"INSERT INTO files VALUES ({', '.join('?' * 15)})", rows)
        conn.executemany(
            "INSERT INTO file_details VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], *STATED) for r in rows],
        )
    conn.execute("CREATE UNIQUE INDEX files_folder_pos ON files (folder_id, pos)")
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def page_us(path: Path, columns: bool, folders: int, pages: int = 2000) -> float:
    conn = sqlite3.connect(path)
    sql = (
        f"SELECT {SELECT.format(a='f.')} FROM files AS f"
        if columns
        else f"SELECT {SELECT.format(a='a.')} FROM files AS f"
        " LEFT JOIN file_audio AS a ON a.file_id = f.id"
    )
    sql += " WHERE f.folder_id = ? AND f.pos >= 0 AND f.pos < 100"
    rng, times = random.Random(1), []
    for _ in range(pages):
        started = time.perf_counter()
        conn.execute(sql, (rng.randrange(folders),)).fetchall()
        times.append(time.perf_counter() - started)
    conn.close()
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-layout"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    print("| layout | file size | bulk load | page of 100 (median) |")
    print("| --- | --- | --- | --- |")
    try:
        for columns in (True, False):
            path = args.dir / f"{'columns' if columns else 'side'}.db"
            seconds = build(path, columns, args.files)
            us = page_us(path, columns, max(args.files // 100, 1))
            label = "17 columns on files" if columns else "side tables (schema 9)"
            print(
                f"| {label} | {path.stat().st_size / 1e6:.1f} MB | {seconds:.2f} s | {us:.0f} µs |"
            )
    finally:
        shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
