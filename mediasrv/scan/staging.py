"""The files a first walk found, kept in a temporary SQLite file rather than in Python.

A cold build of a million files held a Python ``Record``, a natural-order key
and the sort's permutation per file while it walked and built: ~600 MB of
the scan process's 1.2 GB peak. ``Staged`` writes each folder's files as the
walk lists them into a table of the scan's own temporary file in the cache
directory (``staging-*.db.tmp``, deleted when the scan ends; start-up removes
one a crash left behind, as it does a build's), with the natural-order key as
a BLOB: UTF-8 keeps code point order, so ``ORDER BY key, path`` is exactly
``sorted`` over ``natural_key`` (``surrogatepass`` keeps the lone surrogates
that stand for a name's bytes that are not UTF-8). Every build of the walk
(``progressive.py``'s parts and the final one) reads the files back in that
order, one at a time (``fullbuild.write_ordered``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..natural import NaturalKeys
from .walk import Record

# The staging file's page cache: its rows are written once in walk order and read
# back through SQLite's sorter, which spills to a temporary file past this.
CACHE_KIB = 16 * 1024


def _blob(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Staged:
    """Every file a walk found so far: ``len``, iterated in walk order, or ``ordered``."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(prefix="staging-", suffix=".db.tmp", dir=directory)
        os.close(fd)
        self.path = Path(name)
        self._conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "temp_store = FILE",
            f"cache_size = -{CACHE_KIB}",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(
            "CREATE TABLE staged (key BLOB NOT NULL, path BLOB NOT NULL,"
            " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL)"
        )
        self._keys = NaturalKeys()
        self._count = 0

    def add(self, records: Sequence[Record]) -> None:
        """One folder's files (or any batch), as the walk lists them."""
        made = self._keys
        made.add([r[0] for r in records])
        keys, made.keys = made.keys, []
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")
        self._conn.executemany(
            "INSERT INTO staged VALUES (?, ?, ?, ?)",
            (
                (_blob(key), _blob(path), rec[1], rec[2])
                for (key, path), rec in zip(keys, records, strict=True)
            ),
        )
        self._count += len(records)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Record]:
        """In the order the walk found them."""
        return self._read("SELECT path, size, mtime_ns FROM staged")

    def ordered(self, first: int | None = None) -> Iterator[Record]:
        """In natural order (``natural.natural_key``); ``first``: only the first files the
        walk found (rows are only ever appended, so their rowids count them)."""
        if first is None:
            return self._read("SELECT path, size, mtime_ns FROM staged ORDER BY key, path")
        return self._read("SELECT path, size, mtime_ns FROM staged WHERE rowid <= ?"
                          " ORDER BY key, path", (first,))

    def _read(self, sql: str, args: tuple[int, ...] = ()) -> Iterator[Record]:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        for path, size, mtime_ns in self._conn.execute(sql, args):
            yield Record(path.decode("utf-8", "surrogatepass"), size, mtime_ns)

    def close(self) -> None:
        """Delete the file."""
        self._conn.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
