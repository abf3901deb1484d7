"""A big build's search tables, written by a process of their own.

``fullwords.insert_words`` (``folder_words``, ``name_words``, ``word_folders``)
is the biggest part of a full build after the ``files`` rows: 4.7 s of a 14.6 s
build at a million files, on one core while the other was idle but for the
``sort=taken`` child. It needs only the ``files`` rows (id, folder, name), each
folder's path and the distinct names, so a full build of more than
``sideproc.APART_FROM`` files starts it in a child process (``sideproc.py``:
``python -m mediasrv.scan.wordsproc BUILD SIDE PARENT``, side file ``BUILD`` +
``-words.tmp``) as soon as it knows its folders and names (``Starter``): a
staged build before it writes its ``files`` rows. The child works out the
folders' and the names' words meanwhile (``fullwords.words_of_names``), then
waits for the rows to be committed, copies (id, folder, name) of every file out
of the build, finds each folder's first file and writes the rest
(``fullwords.name_rows``) into its side file, exactly as in process, and ends;
the build copies the three tables in.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

from ..names import blob, search_words, unblob
from . import fullwords, sideproc

TABLES = ("folder_words", "name_words", "word_folders")
CHILD = sideproc.Child("scan.wordsproc", "search words", "words", TABLES)
# How long the process waits for the build's files rows (written while it starts).
WAIT_S = 600

# Paths and names as staging.py keeps them: bytes, a name that is not UTF-8 included.
_INPUT = """
CREATE TABLE table_sql (sql TEXT NOT NULL);
CREATE TABLE folder_in (id INTEGER PRIMARY KEY, path BLOB NOT NULL);
CREATE TABLE name_in (name BLOB NOT NULL)
"""


class Apart(sideproc.Side):
    """The child writing a build's search tables; ``copy_into`` takes them. ``tables``:
    the generation's own statements for them."""

    def __init__(self, build: Path, folders: Iterable[tuple[int, str]],
                 names: Iterable[str], tables: Iterable[str]) -> None:
        def fill(conn: sqlite3.Connection) -> None:
            conn.executescript(_INPUT)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO table_sql VALUES (?)", ((sql,) for sql in tables))
            conn.executemany("INSERT INTO folder_in VALUES (?, ?)",
                             ((fid, blob(path)) for fid, path in folders))
            conn.executemany("INSERT INTO name_in VALUES (?)", ((blob(n),) for n in names))
            conn.execute("COMMIT")

        super().__init__(build, CHILD, fill)


class Starter:
    """Starts the search words process of a big build (``conn``'s, file ``build``; when
    ``apart``; added to ``children``) as soon as its folders and names are known
    (``folders_known``), before its ``files`` rows are written; ``committed``: they
    are, the process may read them (until then the build's connection keeps its file
    locked, and the process waits)."""

    def __init__(self, conn: sqlite3.Connection, build: Path, children: list[sideproc.Side],
                 *, apart: bool) -> None:
        self.conn, self.build, self.children, self.apart = conn, build, children, apart
        self.child: Apart | None = None

    def folders_known(self, folders: Iterable[tuple[int, str]], names: Iterable[str],
                      files: int) -> None:
        """(id, path) of each folder, the distinct names (read only when the process
        starts), and how many files."""
        if sideproc.wanted(self.apart, files):
            tables = [sql for (sql,) in self.conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name IN"
                f" ({', '.join('?' * len(TABLES))})", TABLES)]
            self.child = Apart(self.build, folders, names, tables)
            self.children.append(self.child)

    def committed(self) -> None:
        if self.child is not None:
            sideproc.share(self.conn)


def write(conn: sqlite3.Connection, build: Path) -> None:
    """The child's work, on its side file (``conn``): the search tables of ``build``'s
    files."""
    for (sql,) in conn.execute("SELECT sql FROM table_sql").fetchall():
        conn.execute(sql)  # the generation's own tables, in the side file
    folders = [(fid, search_words(unblob(path)))
               for fid, path in conn.execute("SELECT id, path FROM folder_in ORDER BY id")]
    names = [unblob(name) for (name,) in conn.execute("SELECT name FROM name_in")]
    conn.execute("BEGIN")
    fullwords.words_of_names(conn, folders, names)  # while the files rows are written
    conn.execute("COMMIT")
    # Then the files rows, once committed: the build's connection holds its lock
    # until then. Copied out at once, so its next write does not wait for this read;
    # name_rows reads it as ``files`` (the temp schema is looked in first).
    conn.execute(f"PRAGMA busy_timeout = {WAIT_S * 1000}")
    conn.execute("ATTACH DATABASE ? AS build", (f"file:{build}?mode=ro",))
    conn.execute("CREATE TEMP TABLE files AS SELECT id, folder_id, name FROM build.files")
    conn.execute("DETACH DATABASE build")
    firsts = dict(conn.execute("SELECT folder_id, min(id) FROM temp.files"
                               " GROUP BY folder_id"))
    conn.execute("BEGIN")
    fullwords.name_rows(conn, [(fid, firsts[fid], words) for fid, words in folders])
    conn.execute("COMMIT")


def main(argv: list[str]) -> int:
    return sideproc.child_main(argv, write)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
