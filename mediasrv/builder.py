"""Write one scan into a brand-new generation file and publish it."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import db
from .cache import CacheDir
from .names import (
    ALL_TAG,
    db_text,
    folder_tags,
    is_clean,
    kind_of,
    natural_key,
    natural_keys,
    search_words,
    split_ext,
    tags_of,
)
from .scanner import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Probed:
    """Metadata that costs a file read to learn; carried over when a file is unchanged."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumb_key: str | None = None


@dataclass(frozen=True)
class Built:
    number: int
    path: Path
    files: int
    tags: int


def _tag_order(names: Sequence[str]) -> list[str]:
    rest = sorted((n for n in names if n != ALL_TAG), key=natural_key)
    return [ALL_TAG, *rest]


def build(
    cache: CacheDir,
    number: int,
    records: Sequence[Record],
    *,
    root: str,
    probed: Mapping[str, Probed] | None = None,
    meta: Mapping[str, object] | None = None,
    phase: Callable[[str], None] | None = None,
) -> Built:
    """Build generation ``number`` from ``records`` and publish it as current.

    The file is written under a temp name, indexed after the load, analysed,
    fsynced and renamed into place; on any error the temp file is removed and
    the current generation is untouched.
    """
    probed = probed or {}
    tmp = cache.tmp_path(number)
    tmp.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        conn = db.connect_build(tmp)
        try:
            counts = _load(conn, records, probed)
            if phase:
                phase("indexing")
            _finish(conn, number, root, counts, meta or {})
        finally:
            conn.close()
        if phase:
            phase("publishing")
        final = cache.publish(tmp, number)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    log.info(
        "published generation %d: %d files, %d tags in %.2fs",
        number,
        counts[0],
        counts[1],
        time.perf_counter() - started,
    )
    return Built(number, final, counts[0], counts[1])


def _load(
    conn: sqlite3.Connection, records: Sequence[Record], probed: Mapping[str, Probed]
) -> tuple[int, int]:
    before, _ = db.schema_statements()
    for statement in before:
        conn.execute(statement)

    keys = natural_keys([r.path for r in records])
    ordered = [records[i] for i in sorted(range(len(records)), key=keys.__getitem__)]
    del keys
    members: dict[str, list[int]] = {ALL_TAG: []}
    words: dict[str, list[int]] = {}
    clean_rows, odd_rows, plain_rows = [], [], []
    # What a folder gives its files (tags, search words) is added once per
    # folder, for all of its files at once, after the loop.
    folders: dict[str, tuple[list[str], set[str], list[int]]] = {}
    name_words: dict[str, set[str]] = {}  # names repeat across folders (IMG_0001.jpg)
    none = Probed()
    for file_id, rec in enumerate(ordered, start=1):
        path = rec.path
        folder, _, name = path.rpartition("/")
        known = folders.get(folder)
        if known is None:
            known = folders[folder] = (folder_tags(folder), search_words(folder), [])
        tags, file_words, in_folder = known
        in_folder.append(file_id)
        if "[" in name:
            for tag in tags_of(path)[len(tags) :]:  # bracket tags, after the folder's
                members.setdefault(tag, []).append(file_id)
        own = name_words.get(name)
        if own is None:
            own = name_words[name] = search_words(name)
        for word in own:
            if word not in file_words:
                words.setdefault(word, []).append(file_id)
        ext = split_ext(name)[1]
        extra = probed.get(path, none)
        row = (file_id, path, name, ext, kind_of(ext), rec.size, rec.mtime_ns)
        if extra is none and (path.isascii() or is_clean(path)):
            plain_rows.append(row)  # nothing probed (yet): fewer values to bind
            continue
        full = (*row, extra.width, extra.height, extra.duration, extra.thumb_key)
        (clean_rows if path.isascii() or is_clean(path) else odd_rows).append(full)
    del name_words
    for tags, file_words, in_folder in folders.values():
        for tag in tags:
            members.setdefault(tag, []).extend(in_folder)
        for word in file_words:
            words.setdefault(word, []).extend(in_folder)
    # Ascending ids: a tag's positions follow natural order, and both join
    # tables are then loaded in primary-key order.
    for ids in members.values():
        ids.sort()
    for ids in words.values():
        ids.sort()

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO files (id, path, name, ext, kind, size, mtime_ns)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        plain_rows,
    )
    conn.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", clean_rows)
    if odd_rows:  # names that are not UTF-8: store their exact bytes as text
        conn.executemany(
            "INSERT INTO files VALUES"
            " (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, ?)",
            ((r[0], db_text(r[1]), db_text(r[2]), *r[3:]) for r in odd_rows),
        )
    tag_names = _tag_order(list(members))
    conn.executemany(
        "INSERT INTO tags VALUES (?, CAST(? AS TEXT), ?)",
        ((tag_id, db_text(name), len(members[name])) for tag_id, name in enumerate(tag_names, 1)),
    )
    # The big join tables are expanded from JSON arrays inside SQLite: twice
    # as fast as binding one Python tuple per row. Rows arrive in primary-key
    # order, so each B-tree only ever appends.
    conn.executemany(
        "INSERT INTO file_tags SELECT ?, key, value FROM json_each(?)",
        ((tag_id, json.dumps(members[name])) for tag_id, name in enumerate(tag_names, 1)),
    )
    conn.execute(
        "INSERT INTO search_words SELECT w.key, f.value"
        " FROM json_each(?) AS w, json_each(w.value) AS f",
        (json.dumps(dict(sorted(words.items()))),),
    )
    conn.execute("COMMIT")
    return len(ordered), len(tag_names)


def _finish(
    conn: sqlite3.Connection,
    number: int,
    root: str,
    counts: tuple[int, int],
    extra_meta: Mapping[str, object],
) -> None:
    _, after = db.schema_statements()
    conn.execute("BEGIN")
    for statement in after:
        conn.execute(statement)
    meta: dict[str, object] = {
        "generation": number,
        "root": root,
        "schema_version": db.schema_version(),
        "scanned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "file_count": counts[0],
        "tag_count": counts[1],
    }
    for key, value in extra_meta.items():
        meta[key] = value if isinstance(value, (int, float, str)) else json.dumps(value)
    for key, value in meta.items():
        stored = db_text(value) if isinstance(value, str) else value
        cast = "CAST(? AS TEXT)" if isinstance(stored, bytes) else "?"
        conn.execute(f"INSERT INTO meta VALUES (?, {cast})", (key, stored))
    conn.execute(f"PRAGMA user_version = {int(db.schema_version())}")
    conn.execute("COMMIT")
    # Sampled statistics: the queries are index lookups whatever the counts
    # say, and a full ANALYZE reads every row once more (~0.1 s per 100k files).
    conn.execute("PRAGMA analysis_limit = 1000")
    conn.execute("ANALYZE")
    # Leave the file in plain rollback-journal mode for its readers.
    conn.execute("PRAGMA journal_mode = DELETE")
