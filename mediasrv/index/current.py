"""Reading a published generation on the scan side: what the next scan compares against.

The server reads generations through snapshots; everything the scan side
needs from the current generation (its facts, its files' (path, size,
mtime_ns), their probed metadata, its folders) is read here, through
``db.connect_ro``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..names import from_db
from . import db
from .filerows import Probed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Current:
    """The generation a scan starts from."""

    path: Path
    number: int
    file_count: int
    tag_count: int
    probe_version: int  # 0: built without probing
    linked_folders: int  # folders its walk reached through symlinks

    @property
    def can_target(self) -> bool:
        """Whether a targeted scan may update it (a symlinked folder makes paths ambiguous)."""
        return self.linked_folders == 0


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def read_current(path: Path | None) -> Current | None:
    """The facts of the generation at ``path``, or None if there is none usable."""
    if path is None or not path.exists():
        return None
    try:
        meta = db.validate(path, thorough=False)
    except db.InvalidGeneration as exc:
        log.warning("not reusing %s: %s", path, exc)
        return None
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
    )


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a published generation, closed afterwards."""
    conn = db.connect_ro(path)
    try:
        yield conn
    finally:
        conn.close()


def file_stats(path: Path) -> list[tuple[str, int, int]]:
    """(exact path, size, mtime_ns) of every file, the shape of a walk's Records."""
    with reading(path) as conn:
        return [(from_db(p), size, mtime) for p, size, mtime in conn.execute(
            "SELECT coalesce(path_bytes, path), size, mtime_ns FROM files")]


def probed(path: Path, keep: set[str]) -> dict[str, Probed]:
    """Probed metadata of the files in ``keep`` (unchanged since ``path`` was built)."""
    try:
        with reading(path) as conn:
            rows = conn.execute(
                "SELECT coalesce(path_bytes, path), width, height, duration, thumb_key, taken_ns"
                " FROM files WHERE width IS NOT NULL OR duration IS NOT NULL"
                " OR thumb_key IS NOT NULL OR taken_ns IS NOT NULL"
            ).fetchall()
    except sqlite3.Error as exc:
        log.warning("not carrying metadata over from %s: %s", path, exc)
        return {}
    found = {}
    for raw, *columns in rows:
        exact = from_db(raw)
        if exact in keep:
            found[exact] = Probed(*columns)
    return found


def folder_paths(path: Path) -> list[str]:
    """Every folder that holds files, as exact relative paths ('' is the root)."""
    with reading(path) as conn:
        return [from_db(p) for (p,) in conn.execute(
            "SELECT coalesce(path_bytes, path) FROM folders")]
