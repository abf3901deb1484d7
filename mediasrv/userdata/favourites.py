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
without touching the disk. Writes go through the store (``store.py``: a new
whole file each time) in a worker thread, one at a time. A write by another
process (a follower reads the leader's stars) is noticed by ``refresh``,
which compares the file's identity.
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
    """The starred paths: a set in memory, written through to the user database."""

    def __init__(self, path: Path | store.UserStore) -> None:
        self.store = path if isinstance(path, store.UserStore) else store.UserStore(path)
        self.path = self.store.path
        self.version = 0  # changes whenever the set does
        self._paths: set[str] = set()
        self._open = False
        self._lock = asyncio.Lock()
        self._seen: store.Identity | None = None
        self._checked = 0.0
        self._checking: asyncio.Task[bool] | None = None

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def among(self, paths: Iterable[str]) -> set[str]:
        """Which of ``paths`` carry a star (one C-level set operation for a page)."""
        return self._paths.intersection(paths) if self._paths else set()

    def paths(self) -> frozenset[str]:
        return frozenset(self._paths)

    async def open(self, *, upgrade: bool = True) -> None:
        """Read every star (``upgrade``: the leader first creates or upgrades the file);
        UserError if it cannot be."""
        async with self._lock:
            try:
                if upgrade:
                    async with self.store.writing:
                        await asyncio.to_thread(self.store.upgrade)
                await self._reload()
            except sqlite3.Error as exc:
                raise UserError(f"cannot open the favourites in {self.path}: {exc}") from exc
            self._open = True

    async def close(self) -> None:
        """Stop reading; idempotent."""
        if self._checking is not None:
            await asyncio.gather(self._checking, return_exceptions=True)
        async with self._lock:
            self._open = False

    async def _reload(self) -> None:
        paths, self._seen = await asyncio.to_thread(self.store.read, _read_all, set())
        if paths != self._paths:
            self._paths = paths
            self.version += 1

    def _require(self) -> None:
        if not self._open:
            raise RuntimeError(f"{self.path} is not open")

    def notice_changes(self) -> None:
        """Look for another process's writes in the background, at most every REFRESH_S."""
        now = time.monotonic()
        busy = self._checking is not None and not self._checking.done()
        if not self._open or busy or now - self._checked < REFRESH_S:
            return
        self._checked = now
        self._checking = asyncio.get_running_loop().create_task(self.refresh())
        self._checking.add_done_callback(_log_failure)

    async def refresh(self) -> bool:
        """Read the stars again if the file changed (another process); True if they did."""
        async with self._lock:
            if not self._open or self.store.identity() == self._seen:
                return False
            before = self.version
            await self._reload()
            return self.version != before

    async def star(self, path: str, on: bool) -> None:
        """Star ``path`` (or take its star away); doing it twice is fine."""
        await self._write([(path, on)])

    async def follow(self, moves: Iterable[tuple[str, str]]) -> int:
        """Move the star of each (old, new) path pair that has one; returns how many moved."""
        starred = [(old, new) for old, new in moves if old in self._paths]
        if not starred:
            return 0
        await self._write([change for old, new in starred
                           for change in ((old, False), (new, True))])
        log.info("%d starred files moved; their stars went with them", len(starred))
        return len(starred)

    async def _write(self, changes: list[tuple[str, bool]]) -> None:
        async with self._lock, self.store.writing:
            self._require()
            await asyncio.to_thread(self.store.write, lambda conn: _write(conn, changes))
            self._seen = self.store.identity()
            self._apply(changes)

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


def _read_all(conn: sqlite3.Connection) -> set[str]:
    """Every starred path."""
    rows = conn.execute("SELECT coalesce(path_bytes, path) FROM favourites").fetchall()
    return {from_db(raw) for (raw,) in rows}


def _write(conn: sqlite3.Connection, changes: list[tuple[str, bool]]) -> None:
    """Apply ``changes`` (path, starred) in order (in the store's transaction)."""
    now = int(time.time())
    for path, on in changes:
        shown, raw = db_text(path)
        if on:
            conn.execute("INSERT OR REPLACE INTO favourites (path, path_bytes, starred_at)"
                         " VALUES (?, ?, ?)", (shown, raw, now))
        else:
            conn.execute("DELETE FROM favourites WHERE path = ? AND path_bytes IS ?",
                         (shown, raw))
