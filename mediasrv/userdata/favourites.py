"""Favourites: the files a user starred, kept in their own database beside the generations.

Favourites are user data, not index data: ``favourites.db`` in the cache dir
is written only by the server (never by a scan; ``store.py``), and no
generation, rebuild or deleted generation file touches it. A star names a
file by its exact path, stored like the index stores paths (``path`` valid
UTF-8 for any SQLite client, ``path_bytes`` the exact bytes of a name that is
not UTF-8, else NULL), so ``sqlite3`` can join the two::

    ATTACH 'favourites.db' AS user;
    SELECT f.path, f.size FROM files AS f
    JOIN user.favourites AS v ON v.path = f.path AND v.path_bytes IS f.path_bytes;

A star whose file is not in the current generation is kept: it shows again
if a file comes back at that path. When a scan sees a file move (``moves.py``)
its star moves with it.

The server holds the set of starred paths in memory: every request reads it
without touching the disk. Writes go through one connection in a worker
thread, one at a time. A write by another process (a follower reads the
leader's stars) is noticed by ``refresh``, which compares SQLite's
``data_version``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from ..errors import UserError
from ..names import db_text, from_db
from . import store
from .store import FILE_NAME as FILE_NAME

log = logging.getLogger(__name__)

# How often, at most, reading the stars checks whether another process wrote them.
REFRESH_S = 1.0


class Favourites:
    """The starred paths: a set in memory, written through to ``favourites.db``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.version = 0  # changes whenever the set does
        self._paths: set[str] = set()
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._seen_data_version: int | None = None
        self._checked = 0.0
        self._checking: asyncio.Task[bool] | None = None

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def paths(self) -> frozenset[str]:
        return frozenset(self._paths)

    async def open(self) -> None:
        """Open (or create) the database and read every star; UserError if it cannot be."""
        async with self._lock:
            try:
                self._conn = await asyncio.to_thread(self._connect)
                await self._reload()
            except sqlite3.Error as exc:
                raise UserError(f"cannot open the favourites in {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Close the connection; idempotent."""
        if self._checking is not None:
            await asyncio.gather(self._checking, return_exceptions=True)
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await asyncio.to_thread(conn.close)

    def _connect(self) -> sqlite3.Connection:
        return store.connect(self.path)

    async def _reload(self) -> None:
        conn = self._require()
        paths, version = await asyncio.to_thread(_read_all, conn)
        if paths != self._paths:
            self._paths = paths
            self.version += 1
        self._seen_data_version = version

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self.path} is not open")
        return self._conn

    def notice_changes(self) -> None:
        """Look for another process's writes in the background, at most every REFRESH_S."""
        now = time.monotonic()
        busy = self._checking is not None and not self._checking.done()
        if self._conn is None or busy or now - self._checked < REFRESH_S:
            return
        self._checked = now
        self._checking = asyncio.get_running_loop().create_task(self.refresh())
        self._checking.add_done_callback(_log_failure)

    async def refresh(self) -> bool:
        """Read the stars again if another process changed them; True if it did."""
        async with self._lock:
            if self._conn is None:  # closed meanwhile (shutting down)
                return False
            now = await asyncio.to_thread(_data_version, self._conn)
            if now == self._seen_data_version:
                return False
            before = self.version
            await self._reload()
            return self.version != before

    async def star(self, path: str, on: bool) -> None:
        """Star ``path`` (or take its star away); doing it twice is fine."""
        async with self._lock:
            conn = self._require()
            await asyncio.to_thread(_write, conn, [(path, on)])
            self._apply([(path, on)])

    async def follow(self, moves: Iterable[tuple[str, str]]) -> int:
        """Move the star of each (old, new) path pair that has one; returns how many moved."""
        async with self._lock:
            starred = [(old, new) for old, new in moves if old in self._paths]
            if not starred:
                return 0
            changes = [change for old, new in starred for change in ((old, False), (new, True))]
            await asyncio.to_thread(_write, self._require(), changes)
            self._apply(changes)
        log.info("%d starred files moved; their stars went with them", len(starred))
        return len(starred)

    def _apply(self, changes: list[tuple[str, bool]]) -> None:
        changed = False
        for path, on in changes:
            if on != (path in self._paths):
                (self._paths.add if on else self._paths.discard)(path)
                changed = True
        if changed:
            self.version += 1


def _log_failure(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not read the favourites again: %s", task.exception())


def _read_all(conn: sqlite3.Connection) -> tuple[set[str], int]:
    """(every starred path, the data_version it was read at), in one read transaction."""
    with conn:
        conn.execute("BEGIN")
        rows = conn.execute("SELECT coalesce(path_bytes, path) FROM favourites").fetchall()
        version = _data_version(conn)
    return {from_db(raw) for (raw,) in rows}, version


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _write(conn: sqlite3.Connection, changes: list[tuple[str, bool]]) -> None:
    """Apply ``changes`` (path, starred) in one transaction, in order."""
    now = int(time.time())
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for path, on in changes:
            shown, raw = db_text(path)
            if on:
                conn.execute("INSERT OR REPLACE INTO favourites (path, path_bytes, starred_at)"
                             " VALUES (?, ?, ?)", (shown, raw, now))
            else:
                conn.execute("DELETE FROM favourites WHERE path = ? AND path_bytes IS ?",
                             (shown, raw))
