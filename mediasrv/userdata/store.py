"""The user database (``favourites.db`` in the cache dir): its schema, migrations, connections.

User data is not index data: no scan, rebuild or deleted generation touches
this file, and only the leader writes it (followers read it). It holds the
stars (``favourites.py``) and the share links (``shares.py``), each part
opening its own connection through ``connect``.

Its schema lives here, apart from ``migrations/``: the file is never rebuilt,
so each version changes it in place, and ``PRAGMA user_version`` says which
version a file is at.

The file is kept in rollback-journal mode (``journal_mode=DELETE``), not WAL,
so that every commit is in the main file when it is answered: backup tools
(cp, rsync, restic, a NAS snapshot) copy files one at a time, and a copy of
a WAL database's main file lacks whatever sits in ``-wal``. Writes are rare
(a star, a share): measured here, a write costs 0.60 ms in DELETE mode and
0.58 ms in WAL with a checkpoint after it, and such a checkpoint cannot
finish while another process reads an older state (a follower), which would
leave commits outside the main file again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..index import db

FILE_NAME = "favourites.db"
VERSION = 2

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


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the user database at ``path``, created or migrated to VERSION."""
    conn = db.connect_user(path)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the file up to VERSION, one step at a time, each in one transaction."""
    if _version(conn) >= VERSION:
        return
    with conn:
        conn.execute("BEGIN IMMEDIATE")  # two processes starting at once: one migrates
        at = _version(conn)
        if at > VERSION:
            return
        for step in STEPS[at:]:  # no ';' inside a statement or its comments
            for statement in step.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
