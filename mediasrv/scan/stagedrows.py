"""The ``files`` rows of a build from the staging file, written by SQLite alone.

``fullbuild._collect`` reads every staged file back in natural order and makes
its row in Python: ~7 µs a file, 6.9 s of a 17 s build at a million files.
When every folder came in one batch (a walk's folders do) and nothing was
probed (a first walk's parts and its build, published before probing), the
staging file already holds what a row needs but its rank: each file's folder
(``Staged.folders``, numbered as the walk found them), its position in the
folder's natural order, and whether its path is valid UTF-8. So one sort into
a temporary table numbers the files in natural order (its rowid is the rank)
and one ``INSERT ... SELECT`` writes every row; a folder's id is its rank by its
first file's key, and a name's extension and kind come from a table of the
distinct names.

Python then reads back only what is not per file: the runs of ``All`` (one
value a file, grouped in C), the files whose names hold a ``[`` (their bracket
tags), and the rare paths that are not UTF-8 (their rows are written again by
``filerows.file_row``, exactly as the Python build writes them).
"""

from __future__ import annotations

import sqlite3
from itertools import groupby

from ..index.filerows import ID_SPACING, file_row
from ..index.tagruns import Run
from ..names import blob, bracket_tags, kind_of, split_ext, unblob
from .fullrows import Rows, folder_entry
from .staging import Staged, StagedFolder
from .wordsproc import Starter

SCHEMA = "staging"

# The staged files in natural order: SQLite numbers a table's rows as they come, so
# each row's rowid is its rank (a window's row_number() cost 0.7 s more at 1M files).
RANKED = f"""
CREATE TEMP TABLE ranked (rank INTEGER PRIMARY KEY, folder INTEGER NOT NULL,
                          pos INTEGER NOT NULL, path BLOB NOT NULL, size INTEGER NOT NULL,
                          mtime_ns INTEGER NOT NULL, odd INTEGER NOT NULL);
INSERT INTO temp.ranked (folder, pos, path, size, mtime_ns, odd)
SELECT folder, pos, path, size, mtime_ns, odd FROM {SCHEMA}.staged WHERE rowid <= ?
ORDER BY key, path
"""
# CROSS JOIN keeps the ranked files the outer loop: rows go in by rising id.
INSERT_FILES = f"""
INSERT INTO main.files (id, folder_id, pos, path, path_bytes, name, ext, kind, size, mtime_ns)
SELECT r.rank * {ID_SPACING}, m.id, r.pos, CAST(r.path AS TEXT), CASE WHEN r.odd THEN r.path END,
       CAST(substr(r.path, m.cut + 1) AS TEXT), n.ext, n.kind, r.size, r.mtime_ns
FROM temp.ranked AS r
CROSS JOIN temp.folder_of AS m ON m.number = r.folder
CROSS JOIN temp.name_of AS n ON n.name = substr(r.path, m.cut + 1)
"""


def collect(conn: sqlite3.Connection, staged: Staged, first: int | None = None,
            words: Starter | None = None) -> Rows:
    """Write the ``files`` rows of ``staged`` (its ``first`` files, in walk order) and
    gather what ``fullbuild._write_rows`` needs of them, as ``fullbuild._collect`` does;
    the rows are committed. ``words`` is told the folders and names before the rows
    are written, and that they are committed before the rest is gathered.

    The staging file is read by one statement (the sort into ``temp.ranked``), then
    let go (``Staged.read_done``): a part built beside the walk (``progressive.py``)
    holds up the walk's next staged folder only that long.
    """
    count = len(staged) if first is None else first
    folders = [f for f in staged.folders if f.end <= count]
    if sum(f.files for f in folders) != count:
        raise ValueError(f"{count} staged files do not end with a folder")
    rows = Rows()
    rows.names = {name: (ext, kind_of(ext)) for name in staged.names(first)
                  for ext in (split_ext(name)[1],)}
    try:
        staged.attach(conn, SCHEMA)  # outside a transaction, as SQLite attaches
        try:
            create, fill = RANKED.split(";")
            conn.execute(create)
            conn.execute(fill, (count,))
        finally:
            conn.execute(f"DETACH DATABASE {SCHEMA}")
    finally:
        staged.read_done()
    conn.execute("BEGIN")
    by_id = _tables(conn, folders, rows.names)
    if words is not None:
        words.folders_known(((fid, f.path) for fid, f in enumerate(by_id, 1)), rows.names, count)
    written = conn.execute(INSERT_FILES).rowcount
    if written != count:
        raise RuntimeError(f"{written} of {count} staged files were written")
    for table in ("ranked", "folder_of", "name_of"):
        conn.execute(f"DROP TABLE temp.{table}")
    _rewrite_odd(conn)
    conn.execute("COMMIT")
    rows.files = count
    if words is not None:
        words.committed()
    _runs(conn, rows, by_id)
    _brackets(conn, rows, by_id)
    return rows


def _tables(conn: sqlite3.Connection, folders: list[StagedFolder],
            names: dict[str, tuple[str, str]]) -> list[StagedFolder]:
    """Number the folders by their first file in natural order (the order a full build
    meets them); the folders in that order, and ``temp.folder_of`` and ``temp.name_of``."""
    order = sorted(range(len(folders)), key=lambda i: folders[i].first)
    conn.execute("CREATE TEMP TABLE name_of (name BLOB PRIMARY KEY, ext TEXT NOT NULL,"
                 " kind TEXT NOT NULL) WITHOUT ROWID")
    conn.executemany("INSERT INTO temp.name_of VALUES (?, ?, ?)",
                     ((blob(name), ext, kind) for name, (ext, kind) in names.items()))
    conn.execute("CREATE TEMP TABLE folder_of (number INTEGER PRIMARY KEY, id INTEGER NOT NULL,"
                 " cut INTEGER NOT NULL)")
    conn.executemany(
        "INSERT INTO temp.folder_of VALUES (?, ?, ?)",
        ((i + 1, fid, len(blob(folders[i].path)) + 1 if folders[i].path else 0)
         for fid, i in enumerate(order, 1)))
    return [folders[i] for i in order]


def _rewrite_odd(conn: sqlite3.Connection) -> None:
    """The rows of paths that are not UTF-8, written as ``file_row`` writes them (the
    insert left the staged bytes in ``path_bytes`` to find them by)."""
    odd = conn.execute("SELECT id, folder_id, pos, path_bytes, size, mtime_ns FROM main.files"
                       " WHERE path_bytes IS NOT NULL").fetchall()
    conn.executemany(
        "UPDATE main.files SET path = ?, path_bytes = ?, name = ?, ext = ?, kind = ?"
        " WHERE id = ?",
        ((*file_row(fid, folder, pos, unblob(raw), None, size,
                    mtime)[3:8], fid)
         for fid, folder, pos, raw, size, mtime in odd))


def _runs(conn: sqlite3.Connection, rows: Rows, folders: list[StagedFolder]) -> None:
    """``All``'s runs and every folder's row, from the files' folders in natural order:
    one value a file, grouped in C; Python sees each run once."""
    met: dict[int, int] = {}  # folder id -> its files met so far; in order of meeting
    firsts: list[int] = []  # rank of each folder's first file, by folder id
    rank = 0
    for (folder_id,), run in groupby(conn.execute("SELECT folder_id FROM main.files"
                                                  " ORDER BY id")):
        length = len(list(run))
        pos = met.get(folder_id, 0)
        if not pos:
            firsts.append(rank + 1)
        rows.all_runs.append(Run(folder_id, pos, length))
        met[folder_id] = pos + length
        rank += length
    if list(met) != list(range(1, len(folders) + 1)):  # ids are in order of meeting
        raise RuntimeError("the staged folders were not numbered in natural order")
    for fid, folder in enumerate(folders, 1):
        rows.folders[folder.path] = folder_entry(fid, folder.path, folder.files,
                                                 firsts[fid - 1] * ID_SPACING)


def _brackets(conn: sqlite3.Connection, rows: Rows, folders: list[StagedFolder]) -> None:
    """The tags the names of files with a ``[`` add to their folders', in natural order."""
    add_spelled = rows.spelled.add
    for file_id, folder_id, pos, name, raw in conn.execute(
            "SELECT id, folder_id, pos, name, path_bytes FROM main.files"
            " WHERE instr(name, '[') ORDER BY id"):
        if raw is not None:  # the name as the walk gave it, not as shown
            name = raw.decode("utf-8", "surrogateescape").rpartition("/")[2]
        folder = folders[folder_id - 1].path
        spelled = bracket_tags(split_ext(name)[0])
        if spelled and (adds := add_spelled(folder_id, folder, rows.folders[folder][1],
                                            spelled)):
            rows.bracketed.append((folder_id, pos, adds, file_id))
