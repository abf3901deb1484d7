"""A full build: every row of one scan written into a brand-new generation file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..index import dateorder, db, filerows, months
from ..index.filerows import ID_SPACING, PLAIN_FILE, Probed, file_row, insert_files, write_meta
from ..index.tagruns import Run, merged, with_starts
from ..names import (
    ALL_KEY,
    ALL_TAG,
    bracket_tags,
    db_text,
    folder_tags,
    kind_of,
    search_words,
    shown_spelling,
    split_ext,
    tag_key,
    tag_keys,
    tag_order,
)
from ..natural import natural_keys
from . import fullwords
from .walk import Record


def write(
    path: Path,
    number: int,
    records: Sequence[Record],
    *,
    root: str,
    probed: Mapping[str, Probed] | None = None,
    meta: Mapping[str, object] | None = None,
    phase: Callable[[str], None] | None = None,
    keys: list[tuple[str, str]] | None = None,
) -> tuple[int, int]:
    """Write generation ``number`` of ``records`` into the new file ``path``; (files, tags).

    ``keys``: the ``natural_key`` of each record, in the same order, when the
    caller made them already (while the walk went on, ``natural.NaturalKeys``).

    The rows first, the indexes after the load, then sampled statistics;
    ``CacheDir.publish`` gives the path and makes the file current.
    """
    conn = db.connect_build(path)
    try:
        files, tags, indexes = _write_rows(conn, records, probed or {}, keys)
        if phase:
            phase("indexing")
        _finish(conn, number, root, (files, tags), meta or {}, indexes)
    finally:
        conn.close()
    return files, tags


@dataclass
class _Rows:
    """One pass over a scan's files in natural order: everything the tables need."""

    files: int = 0
    # folder path -> [id, folder tags (keys), folder words, files so far, their ids]
    folders: dict[str, list[Any]] = field(default_factory=dict)
    all_runs: list[Run] = field(default_factory=list)  # All's runs
    # (folder id, pos, a file's own tags: its name's bracket tags, a song's artist, album,
    # genre): as spelled from _collect, keys its folder lacks after _spellings
    bracketed: list[tuple[int, int, list[str]]] = field(default_factory=list)
    # each distinct file name -> (its search words, ext, kind)
    names: dict[str, tuple[set[str], str, str]] = field(default_factory=dict)
    plain_rows: list[tuple[object, ...]] = field(default_factory=list)
    other_rows: list[tuple[object, ...]] = field(default_factory=list)


def _write_rows(
    conn: sqlite3.Connection, records: Sequence[Record], probed: Mapping[str, Probed],
    keys: list[tuple[str, str]] | None = None,
) -> tuple[int, int, list[str]]:
    indexes = db.create_schema(conn)
    if keys is None or len(keys) != len(records):
        keys = natural_keys([r.path for r in records])
    ordered = [records[i] for i in sorted(range(len(records)), key=keys.__getitem__)]
    del keys
    rows = _collect(ordered, probed)
    spellings = _spellings(rows)
    tag_runs = _tag_runs(rows.all_runs, rows.folders, rows.bracketed)
    # Only All can have no spelling (a library with no files).
    shown = {shown_spelling(spellings.get(key) or {ALL_TAG: 0}): key for key in tag_runs}
    tag_keys_in_order = [shown[name] for name in tag_order(shown)]

    conn.execute("BEGIN")
    conn.executemany(PLAIN_FILE, rows.plain_rows)
    insert_files(conn, rows.other_rows)
    filerows.insert_contents(conn, [(rank * ID_SPACING, found) for rank, rec in enumerate(
        ordered, start=1) if (found := probed.get(rec.path)) is not None])  # ids as _collect's
    conn.executemany(
        "INSERT INTO folders VALUES (?, ?, ?, ?, ?)",
        ((fid, *db_text(folder), count, ids[0])
         for folder, (fid, _, _, count, ids) in rows.folders.items()),
    )
    tag_ids = {key: i for i, key in enumerate(tag_keys_in_order, 1)}
    names = {key: name for name, key in shown.items()}
    conn.executemany(
        "INSERT INTO tags (id, name, name_bytes, file_count, key) VALUES (?, ?, ?, ?, ?)",
        ((tag_id, *db_text(names[key]), sum(r.length for r in tag_runs[key]), key)
         for key, tag_id in tag_ids.items()),
    )
    conn.executemany(
        "INSERT INTO tag_spellings VALUES (?, ?, ?, ?)",
        ((tag_ids[key], *db_text(name), n) for key in tag_keys_in_order
         for name, n in sorted(spellings.get(key, {}).items())),
    )
    conn.executemany(
        "INSERT INTO tag_runs VALUES (?, ?, ?, ?, ?)",
        ((tag_id, *run) for key, tag_id in tag_ids.items() for run in with_starts(tag_runs[key])),
    )
    rows.plain_rows = rows.other_rows = []
    orders = _taken_orders(conn, rows)
    dateorder.write_all(conn, tag_ids, orders)
    months.write_all(conn, tag_ids, orders)
    del orders
    fullwords.insert_words(
        conn, [(fid, ids[0], words) for fid, _, words, _, ids in rows.folders.values()],
        rows.names)
    conn.execute("COMMIT")
    return rows.files, len(tag_ids), indexes


def _collect(ordered: Sequence[Record], probed: Mapping[str, Probed]) -> _Rows:
    """Rows, runs and words of ``ordered`` (natural order), in one pass.

    One loop body for every file, kept whole on purpose: it is the build's
    hot path (a function call more per file costs ~0.03 s per 100k files),
    and what a folder or a name gives is worked out once and cached.
    """
    rows = _Rows(files=len(ordered))
    folders = rows.folders
    run_folder = run_first = run_count = -1
    # What a name alone says (names repeat across folders: IMG_0001.jpg).
    names = rows.names
    for rank, rec in enumerate(ordered, start=1):
        file_id = rank * ID_SPACING
        path = rec.path
        folder, _, name = path.rpartition("/")
        known = folders.get(folder)
        if known is None:
            known = folders[folder] = [len(folders) + 1, tag_keys(folder_tags(folder)),
                                       search_words(folder), 0, []]
        folder_id, _, _, pos, ids = known
        known[3] += 1
        ids.append(file_id)
        if folder_id == run_folder and pos == run_first + run_count:
            run_count += 1
        else:
            if run_count > 0:
                rows.all_runs.append(Run(run_folder, run_first, run_count))
            run_folder, run_first, run_count = folder_id, pos, 1
        extra = probed.get(path)
        spelled = filerows.tag_names(extra)  # a song's artist, album, genre
        if "[" in name:
            spelled = [*bracket_tags(split_ext(name)[0]), *spelled]
        if spelled:
            rows.bracketed.append((folder_id, pos, spelled))
        about = names.get(name)
        if about is None:
            ext = split_ext(name)[1]
            about = names[name] = (search_words(name), ext, kind_of(ext))
        ext, kind = about[1], about[2]
        if extra is None and path.isascii():  # nearly every file: nothing to work out
            rows.plain_rows.append((file_id, folder_id, pos, path, None, name, ext, kind,
                                    rec.size, rec.mtime_ns))
        else:
            rows.other_rows.append(file_row(file_id, folder_id, pos, path, extra, rec.size,
                                            rec.mtime_ns))
    if run_count > 0:
        rows.all_runs.append(Run(run_folder, run_first, run_count))
    return rows


def _spellings(rows: _Rows) -> dict[str, dict[str, int]]:
    """How many files carry each spelling of each tag (key -> spelling -> files).

    Turns ``rows.bracketed`` from spellings into the tags (keys) each name
    adds to its folder's.
    """
    counts: dict[str, dict[str, int]] = {}
    spelled_in: dict[int, tuple[set[str], list[str]]] = {}  # folder id -> spellings, keys
    for folder, (folder_id, keys, _, files, _) in rows.folders.items():
        names = folder_tags(folder)
        spelled_in[folder_id] = (set(names), keys)
        for name in names:
            found = counts.setdefault(tag_key(name), {})
            found[name] = found.get(name, 0) + files
    bracketed: list[tuple[int, int, list[str]]] = []
    key_of: dict[str, str] = {}
    # (folder id, bracket tags) -> (spellings its folder lacks, keys its folder lacks):
    # names in a folder repeat their brackets ([anna], [anna cat]), so each is worked out once.
    done: dict[tuple[int, tuple[str, ...]], tuple[list[str], list[str]]] = {}
    for folder_id, pos, bracket in rows.bracketed:
        memo = (folder_id, tuple(bracket))
        worked = done.get(memo)
        if worked is None:
            spelled, keys = spelled_in[folder_id]
            for name in bracket:
                if name not in key_of:
                    key_of[name] = tag_key(name)
            worked = done[memo] = (
                [name for name in dict.fromkeys(bracket) if name not in spelled],
                [key for key in dict.fromkeys(key_of[n] for n in bracket) if key not in keys])
        new, extra = worked
        for name in new:
            spellings = counts.setdefault(key_of[name], {})
            spellings[name] = spellings.get(name, 0) + 1
        if extra:
            bracketed.append((folder_id, pos, extra))
    rows.bracketed = bracketed
    return counts


def _taken_orders(conn: sqlite3.Connection, rows: _Rows) -> dict[str, list[dateorder.Key]]:
    """Each tag's files by time taken (see ``dateorder.py``), from the ``files`` rows.

    SQLite sorts the million (time, id) pairs in C: sorting Python tuples of
    big ints took 4.8 s of a 47 s cold build at 1M files.
    """
    times = conn.execute("SELECT coalesce(taken_ns, mtime_ns), id, folder_id FROM files"
                         " ORDER BY 1, 2")
    ids_of = {fid: ids for fid, _, _, _, ids in rows.folders.values()}
    extra = {ids_of[folder_id][pos]: tags for folder_id, pos, tags in rows.bracketed}
    return dateorder.tag_orders(times, {fid: tags for fid, tags, _, _, _ in rows.folders.values()},
                                extra)


def _tag_runs(all_runs: list[Run], folders: Mapping[str, list[Any]],
              bracketed: list[tuple[int, int, list[str]]]) -> dict[str, list[Run]]:
    """Every tag's runs, from the runs of ``All`` and the files with tags of their own.

    A folder tag holds whole folders, so it takes whole runs of ``All``; a
    file's own tag (a bracket tag, a song's artist) takes single files. Both
    are visited in ``All`` order, so each tag's pieces arrive in its own order
    and only need merging.
    """
    tags_of_folder = {fid: tags for fid, tags, _, _, _ in folders.values()}
    brackets: dict[int, list[tuple[int, list[str]]]] = {}
    for folder_id, pos, extra in bracketed:
        brackets.setdefault(folder_id, []).append((pos, extra))
    pieces: dict[str, list[Run]] = {ALL_KEY: []}
    for run in all_runs:
        for tag in tags_of_folder[run.folder_id]:
            pieces.setdefault(tag, []).append(run)
        for pos, extra in brackets.get(run.folder_id, ()):
            if run.first <= pos < run.end:
                for tag in extra:
                    pieces.setdefault(tag, []).append(Run(run.folder_id, pos, 1))
    return {tag: merged(found) for tag, found in pieces.items()}


def _finish(
    conn: sqlite3.Connection,
    number: int,
    root: str,
    counts: tuple[int, int],
    extra_meta: Mapping[str, object],
    indexes: Sequence[str],
) -> None:
    conn.execute("BEGIN")
    for statement in indexes:
        conn.execute(statement)
    write_meta(conn, number, root, counts, extra_meta)
    conn.execute("COMMIT")
    # Sampled statistics: the queries are index lookups whatever the counts
    # say, and a full ANALYZE reads every row once more (~0.1 s per 100k files).
    conn.execute("PRAGMA analysis_limit = 1000")
    conn.execute("ANALYZE")
    # Leave the file in plain rollback-journal mode for its readers.
    conn.execute("PRAGMA journal_mode = DELETE")
