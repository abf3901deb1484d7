"""A snapshot: one immutable generation and the read queries the handlers need.

Two backends answer the same interface: ``SqliteSnapshot`` (default) reads the
generation file through a small pool of read-only connections, one round trip
per query; ``MemorySnapshot`` (``memory.py``) holds the same generation in
Python structures. Handlers never know which one they talk to.
"""

from __future__ import annotations

import abc
import asyncio
import bisect
import contextlib
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from . import db
from .errors import FileNotIndexed, UnknownTag
from .names import db_text, display, query_words, url_quote

log = logging.getLogger(__name__)

# The file columns every query returns, in this order (see file_dict).
FILE_COLUMNS = ("path", "name", "ext", "kind", "size", "mtime_ns", "width", "height", "duration")
_F = ", ".join(f"f.{c}" for c in FILE_COLUMNS)
_NO_FILE = ", ".join("NULL" for _ in FILE_COLUMNS)
WORD_END = "\U0010ffff"  # sorts after every character: [w, w+END) is "starts with w"


def file_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A file as the API shows it, from the FILE_COLUMNS of a row."""
    path = row[0]
    quoted = url_quote(path)
    return {
        "path": path,
        "name": row[1],
        "ext": row[2],
        "kind": row[3],
        "size": row[4],
        "mtime_ns": row[5],
        "width": row[6],
        "height": row[7],
        "duration": row[8],
        "display_path": display(path),
        "url": f"/media/{quoted}",
        "thumb_url": f"/thumb/{quoted}",
    }


@dataclass(frozen=True)
class Neighbours:
    """A file, where it stands in a tag, and the files on either side."""

    file: dict[str, Any]
    tag: str
    position: int
    total: int
    prev: dict[str, Any] | None
    next: dict[str, Any] | None


class Snapshot(abc.ABC):
    """One published generation, read-only. Every query returns plain data."""

    state: str = ""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta
        self.generation = int(meta["generation"])

    @property
    def file_count(self) -> int:
        return int(self.meta["file_count"])

    @abc.abstractmethod
    async def tags(self) -> list[tuple[str, int]]:
        """Every tag with its file count, ``All`` first, then natural name order."""

    @abc.abstractmethod
    async def page(self, tag: str, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(files in the tag, the files at positions offset .. offset+limit-1)."""

    @abc.abstractmethod
    async def neighbours(self, path: str, tag: str) -> Neighbours:
        """The file at ``path`` within ``tag``, with its previous and next file."""

    @abc.abstractmethod
    async def get(self, path: str) -> dict[str, Any]:
        """The file at ``path``; FileNotIndexed if there is none."""

    @abc.abstractmethod
    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        """Files of ``tag`` at the positions ``int(d * count)`` for each draw in [0, 1)."""

    @abc.abstractmethod
    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Files having, for every word of ``query``, a path word starting with it."""

    async def open(self) -> None:
        """Acquire what the snapshot needs (connections); called before it is served."""

    async def close(self) -> None:
        """Release everything; idempotent."""


class Pool:
    """A fixed set of read-only aiosqlite connections on one file.

    Each query takes one connection for one round trip (``execute_fetchall``),
    so the number of thread hops per request is the number of queries.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []
        self._closed = False

    async def open(self) -> None:
        try:
            for _ in range(self.size):
                conn = await db.connect_ro_async(self.path)
                self._all.append(conn)
                self._idle.put_nowait(conn)
        except BaseException:
            await self.close()
            raise

    async def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        conn = await self._idle.get()
        try:
            try:
                return list(await conn.execute_fetchall(sql, params))
            except sqlite3.OperationalError as exc:
                if not db.is_decode_error(exc):
                    raise
            # A name that is not valid UTF-8 (rare): read it byte-exact instead.
            conn.text_factory = db.TEXT_FACTORY
            try:
                return list(await conn.execute_fetchall(sql, params))
            finally:
                conn.text_factory = str
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close()
            # close() returns once the worker thread has closed the connection,
            # a moment before the thread itself exits; wait for that too, so a
            # closed pool holds no thread at all (aiosqlite keeps it private).
            thread = getattr(conn, "_thread", None)
            if thread is not None and thread.is_alive():
                await asyncio.to_thread(thread.join, 5)


class SqliteSnapshot(Snapshot):
    """A generation served straight from its SQLite file."""

    state = "sqlite"

    def __init__(self, path: Path, meta: dict[str, Any], pool_size: int = 3) -> None:
        super().__init__(path, meta)
        self._pool = Pool(self.path, pool_size)

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def tags(self) -> list[tuple[str, int]]:
        rows = await self._pool.fetch("SELECT name, file_count FROM tags ORDER BY id")
        return [(name, count) for name, count in rows]

    async def page(self, tag: str, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        rows = await self._pool.fetch(
            f"SELECT t.file_count, {_F} FROM tags AS t"
            " LEFT JOIN file_tags AS ft ON ft.tag_id = t.id"
            "  AND ft.position >= :offset AND ft.position < :end"
            " LEFT JOIN files AS f ON f.id = ft.file_id"
            " WHERE t.name = CAST(:tag AS TEXT) ORDER BY ft.position",
            {"tag": db_text(tag), "offset": offset, "end": offset + limit},
        )
        if not rows:
            raise UnknownTag(tag)
        return rows[0][0], [file_dict(r[1:]) for r in rows if r[1] is not None]

    async def neighbours(self, path: str, tag: str) -> Neighbours:
        rows = await self._pool.fetch(
            "WITH t AS (SELECT id, file_count FROM tags WHERE name = CAST(:tag AS TEXT)),"
            " me AS (SELECT ft.position AS pos FROM files AS f"
            "  JOIN file_tags AS ft ON ft.file_id = f.id AND ft.tag_id = (SELECT id FROM t)"
            "  WHERE f.path = CAST(:path AS TEXT))"
            f" SELECT ft.position - me.pos, me.pos, t.file_count, {_F}"
            " FROM t, me JOIN file_tags AS ft ON ft.tag_id = t.id"
            "  AND ft.position BETWEEN me.pos - 1 AND me.pos + 1"
            " JOIN files AS f ON f.id = ft.file_id",
            {"tag": db_text(tag), "path": db_text(path)},
        )
        if not rows:
            await self._why_not_found(path, tag)
        by_offset = {r[0]: file_dict(r[3:]) for r in rows}
        return Neighbours(
            by_offset[0], tag, rows[0][1], rows[0][2], by_offset.get(-1), by_offset.get(1)
        )

    async def _why_not_found(self, path: str, tag: str) -> None:
        rows = await self._pool.fetch(
            "SELECT (SELECT count(*) FROM tags WHERE name = CAST(:tag AS TEXT)),"
            " (SELECT count(*) FROM files WHERE path = CAST(:path AS TEXT))",
            {"tag": db_text(tag), "path": db_text(path)},
        )
        tag_known, file_known = rows[0]
        if not tag_known:
            raise UnknownTag(tag)
        raise FileNotIndexed(path, None if not file_known else tag)

    async def get(self, path: str) -> dict[str, Any]:
        rows = await self._pool.fetch(
            f"SELECT {_F} FROM files AS f WHERE f.path = CAST(? AS TEXT)", (db_text(path),)
        )
        if not rows:
            raise FileNotIndexed(path)
        return file_dict(rows[0])

    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            f"SELECT t.file_count, {_F} FROM tags AS t"
            " LEFT JOIN json_each(:draws) AS d"
            " LEFT JOIN file_tags AS ft ON ft.tag_id = t.id"
            "  AND ft.position = CAST(d.value * t.file_count AS INTEGER)"
            " LEFT JOIN files AS f ON f.id = ft.file_id"
            " WHERE t.name = CAST(:tag AS TEXT) ORDER BY d.key",
            {"tag": db_text(tag), "draws": json.dumps(list(draws))},
        )
        if not rows:
            raise UnknownTag(tag)
        return [file_dict(r[1:]) for r in rows if r[1] is not None]

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        words = query_words(query)
        if not words:
            return []
        matches = " INTERSECT ".join(
            "SELECT file_id FROM search_words WHERE word >= ? AND word < ?" for _ in words
        )
        params: list[Any] = [x for w in words for x in (w, w + WORD_END)]
        rows = await self._pool.fetch(
            f"SELECT {_F} FROM files AS f WHERE f.id IN ({matches}) ORDER BY f.id LIMIT ?",
            [*params, limit],
        )
        return [file_dict(r) for r in rows]


def prefix_range(words: list[str], prefix: str) -> tuple[int, int]:
    """Index range of ``words`` (sorted) that start with ``prefix``, as SQLite finds it."""
    lo = bisect.bisect_left(words, prefix)
    hi = bisect.bisect_left(words, prefix + WORD_END, lo)
    return lo, hi


async def open_snapshot(path: Path, state: str = "sqlite", *, pool_size: int = 3) -> Snapshot:
    """Open the generation at ``path`` with the ``state`` backend, ready to serve."""
    meta = await asyncio.to_thread(db.validate, path, thorough=False)
    snap: Snapshot
    if state == "sqlite":
        snap = SqliteSnapshot(path, meta, pool_size)
    elif state == "memory":
        from .memory import MemorySnapshot

        snap = MemorySnapshot(path, meta)
    else:
        raise ValueError(f"unknown state backend {state!r} (sqlite or memory)")
    await snap.open()
    return snap
