"""What a delta build writes: the touched folders' files before and after."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...index.filerows import CONTENTS_JOIN, PROBED_COLUMNS, Probed, read_probed
from ...names import from_db
from ...natural import natural_key
from ..walk import Record


@dataclass
class OldFile:
    id: int
    pos: int
    path: str
    size: int
    mtime_ns: int
    probed: Probed


@dataclass
class FolderPlan:
    """One touched folder: what it held, what it holds now."""

    path: str
    old_id: int | None
    old: list[OldFile]
    new: list[Record]  # in natural order: index = new pos


@dataclass
class Plan:
    """What a delta build writes, worked out against the current generation."""

    folders: dict[str, FolderPlan]
    added: list[Record] = field(default_factory=list)
    removed: list[OldFile] = field(default_factory=list)
    changed: list[Record] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_probe(self) -> list[Record]:
        return [*self.added, *self.changed]


def _old_files(conn: sqlite3.Connection, folder_id: int) -> list[OldFile]:
    return [
        OldFile(i, pos, from_db(path), size, mtime, read_probed(probed))
        for i, pos, path, size, mtime, *probed in conn.execute(
            f"SELECT f.id, f.pos, coalesce(f.path_bytes, f.path), f.size, f.mtime_ns,"
            f" {PROBED_COLUMNS} FROM files AS f {CONTENTS_JOIN}"
            " WHERE f.folder_id = ? ORDER BY f.pos", (folder_id,)
        )
    ]


def folder_ids(conn: sqlite3.Connection) -> dict[str, int]:
    """Every folder of the generation: exact path -> id."""
    return {from_db(p): i for i, p in conn.execute(
        "SELECT id, coalesce(path_bytes, path) FROM folders")}


def plan(conn: sqlite3.Connection, listings: Mapping[str, Iterable[Record]]) -> Plan:
    """Compare the new ``listings`` (folder -> its files now) with the generation on ``conn``."""
    known = folder_ids(conn)
    result = Plan({})
    for folder, records in listings.items():
        new = sorted(records, key=lambda r: natural_key(r.path))
        old_id = known.get(folder)
        old = _old_files(conn, old_id) if old_id is not None else []
        result.folders[folder] = FolderPlan(folder, old_id, old, new)
        before = {f.path: f for f in old}
        now = {r.path for r in new}
        for rec in new:
            was = before.get(rec.path)
            if was is None:
                result.added.append(rec)
            elif (was.size, was.mtime_ns) != (rec.size, rec.mtime_ns):
                result.changed.append(rec)
        result.removed.extend(f for f in old if f.path not in now)
    return result


