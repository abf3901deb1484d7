"""The user database (``favourites.db`` in the cache dir): its schema, how it is read and written.

User data is not index data: no scan, rebuild or deleted generation touches
this file, and only the leader writes it (followers read it). It holds the
stars (``favourites.py``) and the share links (``shares.py``).

**Complete in its main file, at every moment.** Backup tools (cp, rsync,
restic, a NAS snapshot of one file) copy files, not WAL pairs, and read them
while they may be written. So the file is never written in place: a write
copies it to ``favourites.db.new``, changes the copy, fsyncs it and renames
it over ``favourites.db`` (then fsyncs the folder), as generations are
published. A copy taken at any moment is one whole version, holding every
write answered before it began. Tried first and measured: WAL with a
checkpoint after each write (0.58 ms) or a rollback journal (0.60 ms) leave
every commit in the main file, but both write its pages in place one by one,
and a copy taken during a commit came out torn (``integrity_check``: wrong
number of index entries) within a few hundred writes. A write here costs
a few milliseconds (two fsyncs); writes are a star or a share, rare.

Readers hold no connection: they read everything at once and note the file's
identity (inode, size, mtime), and read again when it changes — a rename by
the leader, or a change written in place by another tool. Its schema lives
here, apart from ``migrations/``: the file is never rebuilt, so each version
changes it (``PRAGMA user_version`` says which) when the leader opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..index import db

FILE_NAME = "favourites.db"
VERSION = 2
T = TypeVar("T")
Identity = tuple[int, int, int, int]

# Each step takes the file from the version before it to its own (index + 1).
STEPS = (
    # 1: the stars.
    """
    CREATE TABLE IF NOT EXISTS favourites (
        path       TEXT    NOT NULL,  -- relative to the root, '/'-separated, as files.path
        path_bytes BLOB,              -- exact bytes of path when it is not valid UTF-8, else NULL
        starred_at INTEGER NOT NULL   -- when it was starred (or last moved), Unix seconds
    );
    -- One row per exact path (path_bytes is NULL for most, and NULLs are never equal).
    CREATE UNIQUE INDEX IF NOT EXISTS favourites_path
        ON favourites (path, ifnull(path_bytes, x''));
    """,
    # 2: share links.
    """
    CREATE TABLE IF NOT EXISTS shares (
        id         TEXT    PRIMARY KEY,  -- the secret in the link /s/{id}/ (>= 128 random bits)
        tag        TEXT    NOT NULL,     -- the tag shared, valid UTF-8 as tags.name
        tag_bytes  BLOB,                 -- exact bytes of tag when it is not valid UTF-8, else NULL
        created_at INTEGER NOT NULL,     -- Unix seconds
        expires_at INTEGER,              -- Unix seconds, or NULL: never
        download   INTEGER NOT NULL DEFAULT 0  -- 1: the recipient may download the tag as a zip
    );
    """,
)


class UserStore:
    """One user database file, shared by the stars and the shares of a server."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.writing = asyncio.Lock()  # one write at a time: each starts from the last

    def identity(self) -> Identity | None:
        """What changes whenever the file does (None: there is no file)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

    def read(self, query: Callable[[sqlite3.Connection], T],
             empty: T) -> tuple[T, Identity | None]:
        """(``query`` run on the file as it is now, the identity it was read at); ``empty`` if
        there is no file yet. Blocking: call it in a thread."""
        seen = self.identity()  # before: a change after it is read again next time
        if seen is None:
            return empty, None
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
        try:
            with conn:
                conn.execute("BEGIN")
                return query(conn), seen
        finally:
            conn.close()

    def upgrade(self) -> None:
        """Bring the file to VERSION (creating it if there is none); the leader does this
        before it reads. Blocking."""
        if self.path.exists():
            conn = db.connect_user(self.path)  # a version-1 file's WAL goes into it here
            try:
                if _version(conn) >= VERSION:
                    return
            finally:
                conn.close()
        self.write(lambda conn: None)

    def write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``change`` in one transaction on a copy of the file, then put the copy in its
        place in one step. Blocking; one at a time (``writing``)."""
        # Not *.tmp: a scan starting in another process deletes those (remove_temp_files).
        new = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            new.unlink()  # left by a crash: never a version anyone answered for
        if self.path.exists():
            shutil.copyfile(self.path, new)
        conn = db.connect_user(new)
        try:
            _migrate(conn)
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                result = change(conn)
        finally:
            conn.close()
        fd = os.open(new, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(new, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return result


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a private copy up to VERSION, one step at a time, in one transaction."""
    at = _version(conn)
    if at >= VERSION:
        return
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for step in STEPS[at:]:  # no ';' inside a statement or its comments
            for statement in step.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the file has table ``name`` (a follower may read a file the leader has not
    upgraded yet)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None
