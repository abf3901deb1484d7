"""A whole-tree rescan compared with the current generation folder by folder, as it walks.

The hourly backstop nearly always finds nothing new. The current rows are
read in one query and grouped by folder (in C: ``itertools.groupby``); each
folder the walk lists is compared with its rows as one sorted list against
another, which is C work per file, not Python. Only a folder that differs
is looked at file by file (``differing``), and only its listing is kept for a
delta build. No second pass over a million records at the end.
"""

from __future__ import annotations

import itertools
import operator
import sqlite3
from collections.abc import Iterable

from ..names import from_db
from .walk import Record

Row = tuple[str, int, int]  # (exact path, size, mtime_ns), the shape of a Record
_Old = tuple[int, str, int, int, bytes | None]  # folder_id, path, size, mtime_ns, path_bytes


class Comparison:
    """The current generation's files by folder, crossed off as the walk lists each folder."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.old: dict[str, list[_Old]] | None = None  # read at the first folder
        self.listed: dict[str, list[Record]] = {}  # folders that differ -> their files now
        self.differ = 0  # files new, changed or gone in them

    def _read(self, conn: sqlite3.Connection) -> dict[str, list[_Old]]:
        """The current files by folder; read once the walk has begun (in its own process)."""
        folder_of = {
            fid: from_db(p)
            for fid, p in conn.execute("SELECT id, coalesce(path_bytes, path) FROM folders")
        }
        rows = conn.execute(
            "SELECT folder_id, path, size, mtime_ns, path_bytes FROM files"
        ).fetchall()
        # Ids rise in natural order, so a folder's rows are (nearly always) one stretch.
        old: dict[str, list[_Old]] = {}
        for fid, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            old.setdefault(folder_of[fid], []).extend(group)
        return old

    def folder(self, folder: str, records: list[Record]) -> None:
        """What the walk found in ``folder`` (its relative path, '' for the root)."""
        if self.old is None:
            self.old = self._read(self.conn)
        old = self.old.pop(folder, None)
        if old is None:
            if records:
                self.listed[folder] = records
                self.differ += len(records)
            return
        if len(old) == len(records):
            now = sorted(records)
            if [r[1:4] for r in sorted(old, key=operator.itemgetter(1))] == now:
                return
            # A name that is not UTF-8 is shown with U+FFFD beside its bytes: exact names.
            if sorted(_exact(old)) == now:
                return
        self.listed[folder] = records
        self.differ += differing(_exact(old), records)

    def finish(self) -> None:
        """After the walk: every folder it did not list again holds no files now."""
        if self.old is None:
            self.old = self._read(self.conn)
        for folder, old in self.old.items():
            self.listed[folder] = []
            self.differ += len(old)
        self.old = {}

    @property
    def same(self) -> bool:
        return not self.listed

    def listings(self) -> dict[str, list[Record]]:
        """Every folder whose files differ, with its files now ([]: none any more)."""
        return self.listed


def _exact(rows: Iterable[_Old]) -> list[Row]:
    return [
        (path if raw is None else from_db(raw), size, mtime) for _, path, size, mtime, raw in rows
    ]


def differing(old: list[Row], records: list[Record]) -> int:
    """Files of one folder that are new, changed or gone between ``old`` and ``records``."""
    before = {path: (size, mtime) for path, size, mtime in old}
    matched = differ = 0
    for rec in records:
        was = before.get(rec.path)
        matched += was is not None
        differ += was != (rec.size, rec.mtime_ns)
    return differ + len(before) - matched


def compared(conn: sqlite3.Connection, records: Iterable[Record]) -> Comparison:
    """A Comparison of records already walked (grouped by folder here)."""
    comparison = Comparison(conn)
    by_folder: dict[str, list[Record]] = {}
    for rec in records:
        by_folder.setdefault(rec.path.rpartition("/")[0], []).append(rec)
    for folder, found in by_folder.items():
        comparison.folder(folder, found)
    comparison.finish()
    return comparison
