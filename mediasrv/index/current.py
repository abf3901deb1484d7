"""Reading a published generation on the scan side: what the next scan compares against.

The server reads generations through snapshots; everything the scan side
needs from the current generation (its facts, its files' (path, size,
mtime_ns), their probed metadata, its folders) is read here, through one
``db.connect_ro`` connection that ``open_current`` holds for the whole scan.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..names import from_db
from . import db
from .filerows import CONTENTS_JOIN, PROBED_COLUMNS, Probed, read_probed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Current:
    """The generation a scan starts from, open (one read-only connection) for the whole scan."""

    path: Path
    number: int
    file_count: int
    tag_count: int
    probe_version: int  # 0: built without probing
    linked_folders: int  # folders its walk reached through symlinks
    complete: bool  # False: a first walk published it part-way (meta ``complete`` = 0)
    conn: sqlite3.Connection = field(repr=False, compare=False)

    @property
    def can_target(self) -> bool:
        """Whether a targeted scan may update it (a symlinked folder makes paths ambiguous)."""
        return self.linked_folders == 0

    def file_stats(self) -> list[tuple[str, int, int]]:
        return file_stats(self.conn)

    def folder_paths(self) -> list[str]:
        """Every folder that holds files, as exact relative paths ('' is the root)."""
        return [from_db(p) for (p,) in self.conn.execute(
            "SELECT coalesce(path_bytes, path) FROM folders")]

    def probed(self, keep: set[str]) -> dict[str, Probed]:
        """Probed metadata of the files in ``keep`` (unchanged since this was built)."""
        try:
            rows = self.conn.execute(
                f"SELECT coalesce(f.path_bytes, f.path), {PROBED_COLUMNS}"
                f" FROM files AS f {CONTENTS_JOIN} WHERE f.width IS NOT NULL"
                " OR f.duration IS NOT NULL OR f.thumb_key IS NOT NULL"
                " OR f.taken_ns IS NOT NULL OR d.file_id IS NOT NULL OR a.file_id IS NOT NULL"
            ).fetchall()
        except sqlite3.Error as exc:
            log.warning("not carrying metadata over from %s: %s", self.path, exc)
            return {}
        found = {}
        for raw, *columns in rows:
            exact = from_db(raw)
            if exact in keep:
                found[exact] = read_probed(columns)
        return found


def is_complete(meta: Mapping[str, object]) -> bool:
    """Whether a generation holds every file its walk found (meta ``complete``; a
    generation from before the key existed is complete)."""
    return _int(meta.get("complete"), 1) != 0


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _current(path: Path, conn: sqlite3.Connection, meta: dict[str, object]) -> Current:
    try:
        walk = json.loads(str(meta.get("walk") or "{}"))
    except ValueError:
        walk = {}
    return Current(
        path=path,
        number=_int(meta["generation"]),
        file_count=_int(meta["file_count"]),
        tag_count=_int(meta.get("tag_count")),
        probe_version=_int(meta.get("probe_version")),
        linked_folders=_int(walk.get("linked_folders")) if isinstance(walk, dict) else 0,
        complete=is_complete(meta),
        conn=conn,
    )


@contextmanager
def open_current(path: Path | None) -> Iterator[Current | None]:
    """The generation at ``path``, open until the ``with`` ends; None if there is none usable.

    Opened once per scan: its facts, its files and folders are all read
    through the one connection.
    """
    current, conn = None, None
    if path is not None and path.exists():
        try:
            db.check_size(path)
            conn = db.connect_ro(path)
            current = _current(path, conn, db.checked_meta(conn, path, thorough=False))
        except (db.InvalidGeneration, sqlite3.Error) as exc:
            log.warning("not reusing %s: %s", path, exc)
            current = None
    try:
        yield current
    finally:
        if conn is not None:
            conn.close()


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a published generation, closed afterwards."""
    conn = db.connect_ro(path)
    try:
        yield conn
    finally:
        conn.close()


def file_stats(conn: sqlite3.Connection) -> list[tuple[str, int, int]]:
    """(exact path, size, mtime_ns) of every file, the shape of a walk's Records."""
    return [(from_db(p), size, mtime) for p, size, mtime in conn.execute(
        "SELECT coalesce(path_bytes, path), size, mtime_ns FROM files")]
