"""Search on a generation file: costs what it returns, not what it matches.

A file matches when every query word starts a word of its path; a path's
words are its folder's (``folder_words``, once per folder) and its name's
(``name_words``, per file, without the folder's). So a query is answered
folder by folder, in the order of the folders' first files (``folders.first_id``,
and ids rise in natural order): for each folder, the query words its path does
not have must be found among its files' names. Words rare among names narrow
the folders to visit first (through ``name_words_word``), and the walk stops
as soon as no later folder can hold one of the first ``limit`` files.
Words rare among names are found through ``name_word_folders``.

Runs synchronously on its own connection, in its own thread (see
``SqliteSnapshot``), so a long search never holds a connection that pages
need.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from .base import AUDIO_JOIN, FILE_COLUMNS, WORD_END

# A word found in the names of at most this many folders (one index range of
# name_word_folders) narrows the folders to visit; above it, any may match.
RARE = 2_000

_COLUMNS = "f.id, f.pos, " + FILE_COLUMNS


def _ids(conn: sqlite3.Connection, sql: str, params: Iterable[Any]) -> set[int]:
    return {row[0] for row in conn.execute(sql, tuple(params))}


def _folders_in_order(conn: sqlite3.Connection, only: set[int] | None) -> Iterator[tuple[int, int]]:
    """(folder id, its first file's id) in natural order, of ``only`` (None: all)."""
    if only is None:
        yield from conn.execute("SELECT id, first_id FROM folders ORDER BY first_id")
        return
    rows = conn.execute(
        "SELECT id, first_id FROM folders WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(only)),)).fetchall()
    yield from sorted(rows, key=lambda r: r[1])


def _tag_ranges(conn: sqlite3.Connection, tag_id: int) -> dict[int, list[tuple[int, int]]]:
    """Folder id -> the (first, end) pos ranges of the tag's runs in it."""
    ranges: dict[int, list[tuple[int, int]]] = {}
    for folder_id, first, count in conn.execute(
        "SELECT folder_id, first, count FROM tag_runs WHERE tag_id = ?", (tag_id,)
    ):
        ranges.setdefault(folder_id, []).append((first, first + count))
    return ranges


def search(
    conn: sqlite3.Connection, words: list[str], limit: int, tag_id: int | None = None
) -> list[tuple[Any, ...]]:
    """Rows (file_dict's columns) of the first ``limit`` files matching every word.

    ``tag_id`` limits the search to one tag's files (None: every file).
    """
    by_folder: list[set[int]] = []  # per word: folders whose path has it
    candidates: set[int] | None = None  # folders that may hold a match (None: any)
    for word in words:
        bounds = (word, word + WORD_END)
        have = _ids(conn, "SELECT folder_id FROM folder_words WHERE word >= ? AND word < ?",
                    bounds)
        named = conn.execute("SELECT folder_id FROM name_word_folders WHERE word >= ?"
                             " AND word < ? LIMIT ?", (*bounds, RARE + 1)).fetchall()
        if len(named) <= RARE:  # all of them: the folders that may match by name
            may = have | {row[0] for row in named}
            candidates = may if candidates is None else candidates & may
            if not candidates:
                return []
        by_folder.append(have)
    ranges = _tag_ranges(conn, tag_id) if tag_id is not None else None
    if ranges is not None:
        candidates = set(ranges) if candidates is None else candidates & set(ranges)

    found: list[tuple[Any, ...]] = []
    for folder_id, first_id in _folders_in_order(conn, candidates):
        if len(found) >= limit:
            found.sort()
            del found[limit:]
            if first_id > found[-1][0]:
                break  # every later folder's files come after the ones found
        missing = [w for w, have in zip(words, by_folder, strict=True) if folder_id not in have]
        allowed = ranges[folder_id] if ranges is not None else [(0, 1 << 62)]
        found.extend(_matches_in(conn, folder_id, missing, limit, allowed))
    found.sort()
    return [row[2:] for row in found[:limit]]


def _matches_in(
    conn: sqlite3.Connection, folder_id: int, missing: list[str], limit: int,
    allowed: list[tuple[int, int]],
) -> list[tuple[Any, ...]]:
    """The first ``limit`` files of a folder, among its pos ranges ``allowed``, whose names
    have every word in ``missing`` (rows of id, pos, then file_dict's columns)."""
    if not missing:
        rows: list[tuple[Any, ...]] = []
        for first, end in sorted(allowed):
            rows += conn.execute(
                f"SELECT {_COLUMNS} FROM files AS f {AUDIO_JOIN}"
                " WHERE f.folder_id = ? AND f.pos >= ? AND f.pos < ? ORDER BY f.pos LIMIT ?",
                (folder_id, first, end, limit - len(rows))).fetchall()
            if len(rows) >= limit:
                break
        return rows
    ids: set[int] | None = None
    for word in missing:
        having = _ids(conn, "SELECT file_id FROM name_words"
                            " WHERE folder_id = ? AND word >= ? AND word < ?",
                      (folder_id, word, word + WORD_END))
        ids = having if ids is None else ids & having
        if not ids:
            return []
    assert ids is not None
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM files AS f {AUDIO_JOIN}"
        " WHERE f.id IN (SELECT value FROM json_each(?))"
        " ORDER BY f.id", (json.dumps(sorted(ids)),)).fetchall()
    return [r for r in rows if any(a <= r[1] < b for a, b in allowed)][:limit]
