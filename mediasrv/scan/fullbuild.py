"""A full build: every row of one scan written into a brand-new generation file."""

from __future__ import annotations

import contextlib
import ctypes
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path

from ..index import db, filerows
from ..index.filerows import (
    ID_SPACING,
    PLAIN_FILE,
    Probed,
    file_row,
    insert_contents,
    insert_files,
    write_meta,
)
from ..index.tagruns import Run
from ..names import (
    ALL_KEY,
    ALL_TAG,
    bracket_tags,
    db_text,
    kind_of,
    shown_spelling,
    split_ext,
    tag_order,
)
from ..natural import natural_keys
from . import fulltags, fullwords, sideproc, stagedrows, takenproc, wordsproc
from .fullrows import Rows, folder_entry
from .staging import Staged
from .walk import Record


def write(
    path: Path,
    number: int,
    records: Sequence[Record] | Staged,
    *,
    root: str,
    probed: Mapping[str, Probed] | None = None,
    meta: Mapping[str, object] | None = None,
    phase: Callable[[str], None] | None = None,
    keys: list[tuple[str, str]] | None = None,
    first: int | None = None,
    opened: Callable[[sqlite3.Connection], None] | None = None,
    apart: bool = True,
) -> tuple[int, int]:
    """Write generation ``number`` of ``records`` into the new file ``path``; (files, tags).

    ``records`` staged by a walk (``staging.py``) are written by SQLite from their
    file when nothing was probed (``stagedrows.py``), else read back in natural
    order; ``first``: only the first files staged (whole folders). A list is sorted
    here. ``keys``: the ``natural_key`` of each record of a list, in the same order,
    when the caller made them already. ``opened`` is given the build's connection
    (to stop it from another thread); ``apart``: a big build may write its search
    tables and its sort=taken order in processes of their own (``sideproc.py``).

    The rows first, the indexes after the load, then sampled statistics;
    ``CacheDir.publish`` gives the path and makes the file current.
    """
    if isinstance(records, Staged) and not probed and records.whole_folders:
        return write_ordered(path, number, (records, first), root=root, meta=meta, phase=phase,
                             opened=opened, apart=apart)
    if isinstance(records, Staged):
        ordered: Iterable[Record] = records.ordered(first)
    else:
        ordered = in_order(records if first is None else records[:first], keys)
    return write_ordered(path, number, ordered, root=root, probed=probed, meta=meta,
                         phase=phase, opened=opened, apart=apart)


def in_order(records: Sequence[Record], keys: list[tuple[str, str]] | None = None,
             ) -> list[Record]:
    """``records`` in natural order (``keys``: their natural keys, if made already)."""
    if keys is None or len(keys) != len(records):
        keys = natural_keys([r.path for r in records])
    return [records[i] for i in sorted(range(len(records)), key=keys.__getitem__)]


def write_ordered(
    path: Path,
    number: int,
    ordered: Iterable[Record] | tuple[Staged, int | None],
    *,
    root: str,
    probed: Mapping[str, Probed] | None = None,
    meta: Mapping[str, object] | None = None,
    phase: Callable[[str], None] | None = None,
    opened: Callable[[sqlite3.Connection], None] | None = None,
    apart: bool = True,
) -> tuple[int, int]:
    """``write`` of records already in natural order, read once as they come: the
    build holds what each folder, tag and distinct name gives, not each file; or of
    (staged files, how many of them) that SQLite writes (``stagedrows.py``)."""
    conn = db.connect_build(path)
    try:
        if opened:
            opened(conn)
        files, tags, indexes = _write_rows(conn, path, ordered, probed or {}, apart=apart)
        if phase:
            phase("indexing")
        _finish(conn, number, root, (files, tags), meta or {}, indexes)
    finally:
        conn.close()
        _give_back()
    return files, tags


def _give_back() -> None:
    """Hand the memory the build freed back to the system (glibc only).

    SQLite's page cache and sorter and Python's big lists are freed with
    ``malloc``, which keeps the pages: a first walk's part would leave the
    next build starting on the last one's high-water mark (220 MB after the
    parts at 1M files, not 60).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# files rows written per INSERT batch: the rows of a million files are never held at once
BATCH = 10_000


def _write_rows(
    conn: sqlite3.Connection, path: Path, ordered: Iterable[Record] | tuple[Staged, int | None],
    probed: Mapping[str, Probed], *, apart: bool,
) -> tuple[int, int, list[str]]:
    indexes = db.create_schema(conn)
    # The files rows first, committed: a big build's search tables and sort=taken order
    # are written by processes of their own from them (wordsproc.py, takenproc.py), each
    # started as soon as what it needs is known, while this one writes the rest.
    children: list[sideproc.Side] = []
    words = wordsproc.Starter(conn, path, children, apart=apart)
    try:
        if isinstance(ordered, tuple):
            rows = stagedrows.collect(conn, ordered[0], ordered[1], words)
        else:
            conn.execute("BEGIN")
            rows = _collect(conn, ordered, probed)
            conn.execute("COMMIT")
            words.folders_known(((entry[0], folder) for folder, entry in rows.folders.items()),
                                rows.names, rows.files)
            words.committed()
        return (*_write_tables(conn, path, rows, children, apart=apart,
                               words_apart=words.child is not None), indexes)
    finally:
        for child in children:
            child.close()


def _write_tables(conn: sqlite3.Connection, path: Path, rows: Rows,
                  children: list[sideproc.Side], *, apart: bool,
                  words_apart: bool) -> tuple[int, int]:
    """Every table after ``files`` (the search tables in process unless ``words_apart``:
    their process is among ``children``), then what the ``children`` wrote."""
    spellings = rows.spelled.finish(rows.folders)
    folder_tags = {fid: tags for fid, tags, _, _, _ in rows.folders.values()}
    extra = {file_id: tags for _, _, tags, file_id in rows.bracketed}
    # The tags are those of All, the folders and the files' own (each has files): known
    # before their runs are, so the sort=taken process starts before those are made.
    tags = dict.fromkeys(chain([ALL_KEY], chain.from_iterable(folder_tags.values()),
                               chain.from_iterable(extra.values())))
    # Only All can have no spelling (a library with no files).
    shown = {shown_spelling(spellings.get(key) or {ALL_TAG: 0}): key for key in tags}
    tag_ids = {key: i for i, key in enumerate((shown[name] for name in tag_order(shown)), 1)}
    taken_apart = sideproc.wanted(apart, rows.files)
    if taken_apart:
        children.append(takenproc.start(conn, path, tag_ids, folder_tags, extra))
    tag_runs = fulltags.tag_runs(rows.all_runs, rows.folders, rows.bracketed)
    rows.bracketed = []  # the tag runs are made: only the dict is needed (~40 MB at 1M)
    if tag_runs.keys() != tag_ids.keys():
        raise RuntimeError(f"{len(tag_runs)} tags have runs, {len(tag_ids)} were numbered")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO folders VALUES (?, ?, ?, ?, ?)",
        ((fid, *db_text(folder), count, first)
         for folder, (fid, _, _, count, first) in rows.folders.items()),
    )
    fulltags.insert(conn, tag_ids, {key: name for name, key in shown.items()}, spellings,
                    tag_runs)
    if not taken_apart:
        takenproc.write_here(conn, tag_ids, folder_tags, extra)
    if not words_apart:
        fullwords.insert_words(
            conn, [(fid, first, words) for fid, _, words, _, first in rows.folders.values()],
            rows.names)
    conn.execute("COMMIT")
    for child in children:
        child.copy_into(conn)
    return rows.files, len(tag_ids)


# long: the build's hot path, one loop body for every file (see the docstring)
def _collect(conn: sqlite3.Connection, ordered: Iterable[Record],
             probed: Mapping[str, Probed]) -> Rows:
    """The ``files`` rows of ``ordered`` (natural order), written in batches, and
    the runs and words of every folder, in one pass.

    One loop body for every file, kept whole on purpose: it is the build's
    hot path (a function call more per file costs ~0.03 s per 100k files),
    and what a folder or a name gives is worked out once and cached.
    """
    rows = Rows()
    folders = rows.folders
    plain: list[tuple[object, ...]] = []
    other: list[tuple[object, ...]] = []
    contents: list[tuple[int, Probed]] = []  # file_details, file_audio
    rank = 0
    add_spelled = rows.spelled.add
    run_folder = run_first = run_count = -1
    # What a name alone says (names repeat across folders: IMG_0001.jpg).
    names = rows.names
    for rank, rec in enumerate(ordered, start=1):
        file_id = rank * ID_SPACING
        path = rec.path
        folder, _, name = path.rpartition("/")
        known = folders.get(folder)
        if known is None:
            known = folders[folder] = folder_entry(len(folders) + 1, folder, 0, file_id)
        folder_id, _, _, pos, _ = known
        known[3] += 1
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
        if spelled and (adds := add_spelled(folder_id, folder, known[1], spelled)):
            rows.bracketed.append((folder_id, pos, adds, file_id))
        about = names.get(name)
        if about is None:
            ext = split_ext(name)[1]
            about = names[name] = (ext, kind_of(ext))
        ext, kind = about
        if extra is None and path.isascii():  # nearly every file: nothing to work out
            plain.append((file_id, folder_id, pos, path, None, name, ext, kind,
                          rec.size, rec.mtime_ns))
        else:
            other.append(file_row(file_id, folder_id, pos, path, extra, rec.size,
                                  rec.mtime_ns))
            if extra is not None:
                contents.append((file_id, extra))
        if rank % BATCH == 0:
            _flush(conn, plain, other, contents)
    if run_count > 0:
        rows.all_runs.append(Run(run_folder, run_first, run_count))
    _flush(conn, plain, other, contents)
    rows.files = rank
    return rows


def _flush(conn: sqlite3.Connection, plain: list[tuple[object, ...]],
           other: list[tuple[object, ...]], contents: list[tuple[int, Probed]]) -> None:
    """Write a batch of ``files`` rows and their side rows, and empty the lists."""
    conn.executemany(PLAIN_FILE, plain)
    insert_files(conn, other)
    insert_contents(conn, contents)
    plain.clear()
    other.clear()
    contents.clear()


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
