"""The rows both builds write: a file's row and the generation's facts.

The full build (``builder.py``) writes them for every file, a delta build
(``delta/``) for the files of the folders it touched; both write them here, so
the two can never disagree on what a row holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..names import db_text, kind_of, split_ext
from . import db, months


@dataclass(frozen=True, slots=True)
class Probed:
    """Metadata that costs a file read to learn; carried over when a file is unchanged."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumb_key: str | None = None
    taken_ns: int | None = None  # when the photo or video was taken, as the file states it


# Room left between the ids of neighbouring files by a full build, so that a
# delta build can give a new file an id between its neighbours (ids rise in
# natural order). 2**16 keeps ids of a million files within 5-byte varints.
ID_SPACING = 1 << 16


def file_row(
    file_id: int, folder_id: int, pos: int, path: str, extra: Probed | None, rec_size: int,
    rec_mtime_ns: int,
) -> tuple[object, ...]:
    """The ``files`` row of one file; probe columns only when something was probed."""
    shown, raw = db_text(path)
    name = shown.rpartition("/")[2]
    ext = split_ext(name)[1]
    row = (file_id, folder_id, pos, shown, raw, name, ext, kind_of(ext), rec_size, rec_mtime_ns)
    if extra is None:
        return row
    return (*row, extra.width, extra.height, extra.duration, extra.thumb_key, extra.taken_ns)


PLAIN_FILE = (
    "INSERT INTO files (id, folder_id, pos, path, path_bytes, name, ext, kind, size, mtime_ns)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
PROBED_FILE = "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def insert_files(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    conn.executemany(PLAIN_FILE, [r for r in rows if len(r) == 10])
    conn.executemany(PROBED_FILE, [r for r in rows if len(r) != 10])


def write_meta(
    conn: sqlite3.Connection,
    number: int,
    root: str,
    counts: tuple[int, int],
    extra_meta: Mapping[str, object],
) -> None:
    """Replace the facts about this generation (inside the caller's transaction)."""
    meta: dict[str, object] = {
        "generation": number,
        "root": root,
        "schema_version": db.schema_version(),
        "scanned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "file_count": counts[0],
        "tag_count": counts[1],
        months.ZONE_META: months.zone(),
    }
    for key, value in extra_meta.items():
        meta[key] = value if isinstance(value, (int, float, str)) else json.dumps(value)
    shown, raw = db_text(root)
    meta["root"] = shown
    if raw is not None:  # a root whose path is not UTF-8: its exact bytes beside it
        meta["root_bytes"] = raw
    conn.execute("DELETE FROM meta")
    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    conn.execute(f"PRAGMA user_version = {int(db.schema_version())}")
