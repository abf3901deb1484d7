"""A big build's ``sort=taken`` chunks and months, written by a process of their own.

``dateorder.write_sorted`` visits every file once per tag it carries, in
Python: 3.7 s of a 14 s build at a million files, on one core while the
other waited. It needs only the ``files`` rows (committed before the other
tables) and each folder's and file's tags, so a full build of more than
``APART_FROM`` files runs it in a child process (``python -m
mediasrv.scan.takenproc BUILD SIDE PARENT``) while it writes the search
tables itself, the other big part. The child reads the build file's rows
sorted into a side file of its own (``BUILD`` + ``-taken.tmp``: a crash leaves
it under the cache dir's ``*.tmp`` rule), writes the chunks and months there
with ``write_sorted``, exactly as in process, and ends; the build copies them
in. The child starts fresh (no fork: the scan process may have threads) and
dies with the scan process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import children
from ..index import dateorder

APART_FROM = 100_000  # files: a smaller build writes them in process (a start costs ~0.1 s)

_SIDE_TABLES = """
CREATE TABLE tag_of (key TEXT NOT NULL, id INTEGER NOT NULL);
CREATE TABLE folder_tag (folder_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE file_tag (file_id INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE tag_taken (tag_id INTEGER NOT NULL, start INTEGER NOT NULL, taken INTEGER NOT NULL,
                        file_id INTEGER NOT NULL, count INTEGER NOT NULL, files TEXT NOT NULL);
CREATE TABLE tag_months (tag_id INTEGER NOT NULL, month INTEGER NOT NULL,
                         count INTEGER NOT NULL)
"""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE",
                   "cache_size = -16384"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class Apart:
    """The child writing a build's chunks and months; ``copy_into`` takes its rows."""

    def __init__(self, build: Path, tag_ids: Mapping[str, int],
                 folder_tags: Mapping[int, Sequence[str]],
                 extra_tags: Mapping[int, Sequence[str]]) -> None:
        self.side = Path(f"{build}-taken.tmp")
        self.side.unlink(missing_ok=True)
        conn = _connect(self.side)
        try:
            conn.executescript(_SIDE_TABLES)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO tag_of VALUES (?, ?)", tag_ids.items())
            conn.executemany("INSERT INTO folder_tag VALUES (?, ?)",
                             ((fid, key) for fid, keys in folder_tags.items() for key in keys))
            conn.executemany("INSERT INTO file_tag VALUES (?, ?)",
                             ((fid, key) for fid, keys in extra_tags.items() for key in keys))
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            self.child = subprocess.Popen(
                children.command("scan.takenproc", str(build), str(self.side), str(os.getpid())),
                env=children.child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
        except BaseException:  # no child: nobody will close this
            self.side.unlink(missing_ok=True)
            raise

    def copy_into(self, conn: sqlite3.Connection) -> None:
        """Wait for the child, then copy its rows into ``conn``'s generation (outside a
        transaction: the side file is attached for the copy)."""
        _, err = self.child.communicate()
        if self.child.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines() or ["(nothing)"]
            raise RuntimeError(f"the sort=taken process ended with status "
                               f"{self.child.returncode}: {lines[-1]}")
        conn.execute("ATTACH DATABASE ? AS taken", (str(self.side),))
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO main.tag_taken SELECT * FROM taken.tag_taken")
            conn.execute("INSERT INTO main.tag_months SELECT * FROM taken.tag_months")
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("DETACH DATABASE taken")

    def close(self) -> None:
        """Stop the child if it still runs, and delete the side file."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        if self.child.stderr is not None:
            self.child.stderr.close()
        self.side.unlink(missing_ok=True)


def write(build: Path, side: Path) -> None:
    """The child's work: ``build``'s files by time into ``side``, then chunks and months."""
    conn = _connect(side)
    try:
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
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    build, side, parent = argv
    from .walkproc import die_with

    die_with(int(parent))
    write(Path(build), Path(side))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
