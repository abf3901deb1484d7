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
from typing import Any, NamedTuple

from ..names import db_text, kind_of, split_ext
from . import db, months


class Details(NamedTuple):
    """A photo's or video's camera, lens, exposure and place: a ``file_details`` row
    (migrations/0009_details.sql), None where the file states nothing."""

    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length_mm: float | None = None
    f_number: float | None = None
    exposure_time_s: float | None = None
    iso: int | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None


class Audio(NamedTuple):
    """A song's own tags: a ``file_audio`` row, None where the song states nothing."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    track: int | None = None
    disc: int | None = None
    year: int | None = None
    genre: str | None = None

    def tag_names(self) -> list[str]:
        """The tags the song gives itself, as spelled: each value of its artist, album
        artist and genre ('; ' joins several), and its album."""
        names: list[str] = []
        for value in (self.artist, self.album_artist, self.genre):
            names.extend(v.strip() for v in (value or "").split(";"))
        if self.album:  # an album's name may hold a ';' of its own
            names.append(self.album)
        return [n for n in dict.fromkeys(names) if n]


@dataclass(frozen=True, slots=True)
class Probed:
    """Metadata that costs a file read to learn; carried over when a file is unchanged."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumb_key: str | None = None
    taken_ns: int | None = None  # when the photo or video was taken, as the file states it
    details: Details | None = None  # images and videos that state any
    audio: Audio | None = None  # songs that state any tag


def tag_names(probed: Probed | None) -> list[str]:
    """Tags a file's contents give it (a song's artist, album, genre), as spelled."""
    return probed.audio.tag_names() if probed is not None and probed.audio is not None else []


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


_DETAILS = len(Details._fields)
# What ``read_probed`` reads of a file ``f`` (the files row, then its side rows), and
# the joins that bring its side rows.
PROBED_COLUMNS = ", ".join(
    ["f.width, f.height, f.duration, f.thumb_key, f.taken_ns",
     *(f"d.{c}" for c in Details._fields), *(f"a.{c}" for c in Audio._fields)])
CONTENTS_JOIN = ("LEFT JOIN file_details AS d ON d.file_id = f.id"
                 " LEFT JOIN file_audio AS a ON a.file_id = f.id")


def insert_contents(conn: sqlite3.Connection, probed: Sequence[tuple[int, Probed]]) -> None:
    """The ``file_details`` and ``file_audio`` rows of files (id, what was probed)."""
    conn.executemany(f"INSERT INTO file_details VALUES (?{', ?' * _DETAILS})",
                     [(i, *p.details) for i, p in probed if p.details is not None])
    conn.executemany(f"INSERT INTO file_audio VALUES (?{', ?' * len(Audio._fields)})",
                     [(i, *p.audio) for i, p in probed if p.audio is not None])


def delete_contents(conn: sqlite3.Connection, folder_id: int) -> None:
    """The side rows of a folder's files (before its files rows are deleted)."""
    for table in ("file_details", "file_audio"):
        conn.execute(f"DELETE FROM {table} WHERE file_id IN"
                     " (SELECT id FROM files WHERE folder_id = ?)", (folder_id,))


def read_probed(row: Sequence[Any]) -> Probed:
    """A ``Probed`` from a row of ``PROBED_COLUMNS``. A side row is only written when the
    file states something, so all NULL means there is none."""
    details, audio = row[5:5 + _DETAILS], row[5 + _DETAILS:]
    width, height, duration, thumb_key, taken_ns = row[:5]
    return Probed(
        width, height, duration, thumb_key, taken_ns,
        details=Details(*details) if any(v is not None for v in details) else None,
        audio=Audio(*audio) if any(v is not None for v in audio) else None)


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
