"""A big build's search tables, written by a process of their own.

``fullwords.insert_words`` (``folder_words``, ``name_words``, ``word_folders``)
is the biggest part of a full build after the ``files`` rows: 4.7 s of a 14.6 s
build at a million files, on one core while the other was idle but for the
``sort=taken`` child. It needs only the ``files`` rows (id, folder, name), each
folder's path and the distinct names, so a full build of more than
``sideproc.APART_FROM`` files starts it in a child process (``sideproc.py``:
``python -m mediasrv.scan.wordsproc BUILD SIDE PARENT``, side file ``BUILD`` +
``-words.tmp``) as soon as the ``files`` rows are committed, while it writes the
tags. The child copies (id, folder, name) of every file out of the build, works
out each folder's first file and its path's words, runs ``insert_words`` into
its side file, exactly as in process, and ends; the build copies the three
tables in.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

from ..names import search_words
from . import fullwords, sideproc

TABLES = ("folder_words", "name_words", "word_folders")
CHILD = sideproc.Child("scan.wordsproc", "search words", "words", TABLES)

# Paths and names as staging.py keeps them: bytes, a name that is not UTF-8 included.
_INPUT = """
CREATE TABLE folder_in (id INTEGER PRIMARY KEY, path BLOB NOT NULL);
CREATE TABLE name_in (name BLOB NOT NULL)
"""


def _blob(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")


class Apart(sideproc.Side):
    """The child writing a build's search tables; ``copy_into`` takes them."""

    def __init__(self, build: Path, folders: Iterable[tuple[int, str]],
                 names: Iterable[str]) -> None:
        def fill(conn: sqlite3.Connection) -> None:
            conn.executescript(_INPUT)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO folder_in VALUES (?, ?)",
                             ((fid, _blob(path)) for fid, path in folders))
            conn.executemany("INSERT INTO name_in VALUES (?)", ((_blob(n),) for n in names))
            conn.execute("COMMIT")

        super().__init__(build, CHILD, fill)


def start(conn: sqlite3.Connection, build: Path, folders: Iterable[tuple[int, str]],
          names: Iterable[str]) -> Apart:
    """Start the child writing the search tables of the committed ``files`` rows of
    ``build`` (``conn``'s), given (id, path) of each folder and the distinct names."""
    sideproc.share(conn)
    return Apart(build, folders, names)


def write(build: Path, side: Path) -> None:
    """The child's work: the search tables of ``build``'s files, into ``side``."""
    conn = sideproc.connect(side)
    try:
        conn.execute("ATTACH DATABASE ? AS build", (f"file:{build}?mode=ro",))
        for (sql,) in conn.execute(
                "SELECT sql FROM build.sqlite_schema WHERE type = 'table' AND name IN"
                f" ({', '.join('?' * len(TABLES))})", TABLES).fetchall():
            conn.execute(sql)  # the generation's own tables, in the side file
        # Copied out at once, so the build's next write does not wait for this read;
        # insert_words reads it as ``files`` (the temp schema is looked in first).
        conn.execute("CREATE TEMP TABLE files AS SELECT id, folder_id, name FROM build.files")
        conn.execute("DETACH DATABASE build")
        firsts = dict(conn.execute("SELECT folder_id, min(id) FROM temp.files"
                                   " GROUP BY folder_id"))
        folders = [(fid, firsts[fid], search_words(_text(path)))
                   for fid, path in conn.execute("SELECT id, path FROM folder_in ORDER BY id")]
        names = [_text(name) for (name,) in conn.execute("SELECT name FROM name_in")]
        conn.execute("BEGIN")
        fullwords.insert_words(conn, folders, names)
        conn.execute("COMMIT")
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    return sideproc.child_main(argv, write)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
