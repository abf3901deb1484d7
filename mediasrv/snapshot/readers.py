"""Read-only connections to a generation file, each owned by a thread of its own."""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..index import db


class Reader:
    """One read-only connection and the thread that owns it.

    Every call runs in that thread and comes back through a future resolved
    with ``call_soon_threadsafe``: aiosqlite's mechanism, kept in our hands
    so that ``close`` joins the thread (a closed pool holds no thread) and a
    reader someone forgot never keeps the process from exiting (daemon).
    """

    def __init__(self, path: Path, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, args=(path,), name=name,
                                        daemon=True)
        self._thread.start()

    def _serve(self, path: Path) -> None:
        conn: sqlite3.Connection | None = None
        while (job := self._jobs.get()) is not None:
            loop, future, fn, args = job
            try:
                if conn is None:
                    conn = db.connect_ro(path)
                result = fn(conn, *args)
            except BaseException as exc:  # handed to the caller, whatever it is
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
        if conn is not None:
            conn.close()

    async def call(self, fn: Any, *args: Any) -> Any:
        """``fn(connection, *args)`` in the reader's thread."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return await future

    async def close(self) -> None:
        """Finish what is queued, close the connection, end the thread."""
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _fetch_all(conn: sqlite3.Connection, sql: str, params: Any) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _check_open(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()


class Pool:
    """A fixed set of readers on one file.

    Each query takes one reader for one round trip (the query and all its
    rows in the reader's thread), so the number of thread hops per request is
    the number of queries.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._idle: asyncio.Queue[Reader] = asyncio.Queue()
        self._all: list[Reader] = []
        self._closed = False

    async def open(self) -> None:
        try:
            for n in range(self.size):
                reader = Reader(self.path, f"read-{self.path.name}-{n}")
                self._all.append(reader)
                await reader.call(_check_open)  # opens the connection now, not on first use
                self._idle.put_nowait(reader)
        except BaseException:
            await self.close()
            raise

    async def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        reader = await self._idle.get()
        try:
            return list(await reader.call(_fetch_all, sql, params))
        finally:
            self._idle.put_nowait(reader)

    async def run(self, fn: Any, *args: Any) -> Any:
        """``fn(connection, *args)`` in a reader's thread: queries that take several steps
        (``pagequery.rendered_page``) in one round trip."""
        reader = await self._idle.get()
        try:
            return await reader.call(fn, *args)
        finally:
            self._idle.put_nowait(reader)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        readers, self._all = self._all, []
        for reader in readers:
            await reader.close()
