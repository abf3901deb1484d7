"""A big build's ``sort=taken`` chunks and months, written by a process of their own.

``dateorder.write_sorted`` visits every file once per tag it carries, in
Python: 3.7 s of a 14 s build at a million files, on one core while the
other waited. It needs only the ``files`` rows and each folder's and file's
tags, so a full build of more than ``sideproc.APART_FROM`` files runs it in a
child process (``sideproc.py``: ``python -m mediasrv.scan.takenproc BUILD SIDE
PARENT``, side file ``BUILD`` + ``-taken.tmp``) while it writes the other
tables. The child reads the build file's rows sorted into its side file,
writes the chunks and months there with ``write_sorted``, exactly as in
process, and ends; the build copies them in.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..index import dateorder
from . import sideproc

_SIDE_TABLES = """
CREATE TABLE tag_of (key TEXT NOT NULL, id INTEGER NOT NULL);
CREATE TABLE folder_tag (folder_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE file_tag (file_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE tag_taken (tag_id INTEGER NOT NULL, start INTEGER NOT NULL, taken INTEGER NOT NULL,
                        file_id INTEGER NOT NULL, count INTEGER NOT NULL, files TEXT NOT NULL);
CREATE TABLE tag_months (tag_id INTEGER NOT NULL, month INTEGER NOT NULL,
                         count INTEGER NOT NULL)
"""

CHILD = sideproc.Child("scan.takenproc", "sort=taken", "taken", ("tag_taken", "tag_months"))


class Apart(sideproc.Side):
    """The child writing a build's chunks and months; ``copy_into`` takes its rows."""

    def __init__(self, build: Path, tag_ids: Mapping[str, int],
                 folder_tags: Mapping[int, Sequence[str]],
                 extra_tags: Mapping[int, Sequence[str]]) -> None:
        def fill(conn: sqlite3.Connection) -> None:
            conn.executescript(_SIDE_TABLES)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO tag_of VALUES (?, ?)", tag_ids.items())
            conn.executemany("INSERT INTO folder_tag VALUES (?, ?)",
                             ((fid, key) for fid, keys in folder_tags.items() for key in keys))
            conn.executemany("INSERT INTO file_tag VALUES (?, ?)",
                             ((fid, key) for fid, keys in extra_tags.items() for key in keys))
            conn.execute("COMMIT")

        super().__init__(build, CHILD, fill)


def start(conn: sqlite3.Connection, build: Path, tag_ids: Mapping[str, int],
          folder_tags: Mapping[int, Sequence[str]],
          extra_tags: Mapping[int, Sequence[str]]) -> Apart:
    """Start the child writing the sort=taken order of the committed ``files`` rows of
    ``build`` (``conn``'s)."""
    sideproc.share(conn)
    return Apart(build, tag_ids, folder_tags, extra_tags)


def write_here(conn: sqlite3.Connection, tag_ids: Mapping[str, int],
               folder_tags: Mapping[int, Sequence[str]],
               extra_tags: Mapping[int, Sequence[str]]) -> None:
    """A smaller build's chunks and months, in process (inside its transaction).

    SQLite sorts the million (time, id) pairs in C: sorting Python tuples of
    big ints took 4.8 s of a 47 s cold build at 1M files.
    """
    times = conn.execute("SELECT coalesce(taken_ns, mtime_ns), id, folder_id FROM files"
                         " ORDER BY 1, 2")
    dateorder.write_sorted(conn, tag_ids, times, folder_tags, extra_tags)


def write(conn: sqlite3.Connection, build: Path) -> None:
    """The child's work, on its side file (``conn``): ``build``'s files by time, then
    chunks and months."""
    conn.execute("ATTACH DATABASE ? AS build", (f"file:{build}?mode=ro",))
    # Copied out at once, so the build's next commit does not wait for this read.
    conn.execute("CREATE TABLE sorted AS SELECT coalesce(taken_ns, mtime_ns) AS t, id,"
                 " folder_id FROM build.files ORDER BY 1, 2")
    conn.execute("DETACH DATABASE build")
    tag_ids = dict(conn.execute("SELECT key, id FROM tag_of"))
    folder_tags: dict[int, list[str]] = {}
    for fid, key in conn.execute("SELECT folder_id, key FROM folder_tag ORDER BY rowid"):
        folder_tags.setdefault(fid, []).append(key)
    extra: dict[int, list[str]] = {}
    for fid, key in conn.execute("SELECT file_id, key FROM file_tag ORDER BY rowid"):
        extra.setdefault(fid, []).append(key)
    conn.execute("BEGIN")
    dateorder.write_sorted(conn, tag_ids, conn.execute("SELECT t, id, folder_id FROM sorted"
                                                       " ORDER BY rowid"),
                           folder_tags, extra)
    conn.execute("COMMIT")


def main(argv: list[str]) -> int:
    return sideproc.child_main(argv, write)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
