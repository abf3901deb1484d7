"""Search on a generation file: costs what it returns, not what it matches.

A file matches when every query word starts a word of its path; a path's
words are its folder's (once per folder) and its name's (``name_words``, per
file, without the folder's). ``word_folders`` lists, for every start of a
word, the folders whose path or names have it in natural order (by
``folders.first_id``; ids rise in natural order). So a query steps through
the folder lists of its words together, each jumping ahead to the furthest
folder any of them has reached (a leapfrog join): it visits only folders that
every word can match, reading each list a batch at a time from an index seek.
In a visited folder, the words its path has match every file, the others
must be found among its files' names. The walk stops as soon as no later
folder can hold one of the first ``limit`` files, so a query costs about the
folders it visits to find them, whatever its words match elsewhere.

Runs synchronously on its own connection, in its own thread (see
``SqliteSnapshot``), so a long search never holds a connection that pages
need.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ..index.words import WORD_END
from ..names import from_db, search_words
from .base import AUDIO_JOIN, FILE_COLUMNS

# Folders read from a word's list at one index seek; the batch doubles as a
# word keeps matching, up to BATCH_MAX, so a long walk makes few queries.
BATCH = 16
BATCH_MAX = 1024
# Files read at a time from the names found in one folder.
_CHUNK = 256

_COLUMNS = "f.id, f.pos, " + FILE_COLUMNS

# (first_id, folder_id, in_path): a folder of a list, by its first file's id.
Folder = tuple[int, int, int]


class _WordFolders:
    """The folders having a word that starts with ``prefix``, in natural order."""

    def __init__(self, conn: sqlite3.Connection, prefix: str) -> None:
        self._conn = conn
        self._prefix = prefix
        self._rows: list[Folder] = []
        self._keys: list[int] = []
        self._batch = BATCH
        self._ended = False  # the last read reached the end of the list

    def seek(self, key: int) -> Folder | None:
        """The first folder whose first_id is ``key`` or more (keys only grow)."""
        i = bisect.bisect_left(self._keys, key)
        if i < len(self._keys):
            return self._rows[i]
        if self._ended:
            return None
        if not self._keys or key > self._keys[-1] + 1:  # a jump, not a step: start small
            self._batch = BATCH
        self._rows = self._conn.execute(
            "SELECT w.first_id, d.id, w.in_path FROM word_folders AS w"
            " JOIN folders AS d ON d.first_id = w.first_id"
            " WHERE w.prefix = ? AND w.first_id >= ? ORDER BY w.first_id LIMIT ?",
            (self._prefix, key, self._batch),
        ).fetchall()
        self._ended = len(self._rows) < self._batch
        self._batch = min(self._batch * 2, BATCH_MAX)
        self._keys = [row[0] for row in self._rows]
        return self._rows[0] if self._rows else None


class _TagFolders:
    """The folders with files in one tag, in natural order, with those files' pos ranges."""

    def __init__(self, conn: sqlite3.Connection, tag_id: int) -> None:
        ranges: dict[int, list[tuple[int, int]]] = {}
        first_of: dict[int, int] = {}
        for folder_id, first, count, first_id in conn.execute(
            "SELECT r.folder_id, r.first, r.count, d.first_id FROM tag_runs AS r"
            " JOIN folders AS d ON d.id = r.folder_id WHERE r.tag_id = ?",
            (tag_id,),
        ):
            ranges.setdefault(folder_id, []).append((first, first + count))
            first_of[folder_id] = first_id
        self.ranges = ranges
        self._rows: list[Folder] = sorted(
            (first_id, folder_id, 0) for folder_id, first_id in first_of.items()
        )
        self._keys = [row[0] for row in self._rows]

    def seek(self, key: int) -> Folder | None:
        i = bisect.bisect_left(self._keys, key)
        return self._rows[i] if i < len(self._keys) else None


def _together(lists: Sequence[_WordFolders | _TagFolders]) -> Iterator[list[Folder]]:
    """The folders on every one of ``lists``, in natural order (each list's row for it)."""
    key = -(1 << 63)
    while True:
        rows = []
        for folders in lists:
            row = folders.seek(key)
            if row is None:
                return
            if row[0] != key:  # this list has nothing before row: all jump there
                key = row[0]
                break
            rows.append(row)
        else:
            yield rows
            key += 1


def search(
    conn: sqlite3.Connection, words: list[str], limit: int, tag_id: int | None = None
) -> list[tuple[Any, ...]]:
    """Rows (file_dict's columns) of the first ``limit`` files matching every word.

    ``tag_id`` limits the search to one tag's files (None: every file).
    """
    lists: list[_WordFolders | _TagFolders] = [_WordFolders(conn, word) for word in words]
    tag = _TagFolders(conn, tag_id) if tag_id is not None else None
    if tag is not None:
        lists.append(tag)
    found: list[tuple[Any, ...]] = []
    for rows in _together(lists):
        first_id, folder_id, _ = rows[0]
        if len(found) >= limit:
            found.sort()
            del found[limit:]
            if first_id > found[-1][0]:
                break  # every later folder's files come after the ones found
        missing = [
            word
            for word, (_, _, in_path) in zip(words, rows[: len(words)], strict=True)
            if not in_path
        ]
        allowed = tag.ranges[folder_id] if tag is not None else [(0, 1 << 62)]
        found.extend(_matches_in(conn, folder_id, missing, limit, allowed))
    found.sort()
    return [row[2:] for row in found[:limit]]


def _matches_in(
    conn: sqlite3.Connection,
    folder_id: int,
    missing: list[str],
    limit: int,
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
                (folder_id, first, end, limit - len(rows)),
            ).fetchall()
            if len(rows) >= limit:
                break
        return rows
    # The names having the rarest word (counted inside SQLite, each count
    # stopping past the smallest so far), checked for the others one by one.
    rarest, fewest = missing[0], -1
    for word in missing if len(missing) > 1 else ():
        (count,) = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM name_words WHERE folder_id = ? AND word >= ?"
            " AND word < ? LIMIT ?)",
            (folder_id, word, word + WORD_END, fewest if fewest >= 0 else -1),
        ).fetchone()
        if fewest < 0 or count < fewest:
            rarest, fewest = word, count
        if not count:
            return []
    others = [word for word in missing if word != rarest]
    ids = sorted(
        {
            row[0]
            for row in conn.execute(
                "SELECT file_id FROM name_words WHERE folder_id = ? AND word >= ? AND word < ?",
                (folder_id, rarest, rarest + WORD_END),
            )
        }
    )
    found: list[tuple[Any, ...]] = []
    for i in range(0, len(ids), _CHUNK):
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM files AS f {AUDIO_JOIN}"
            " WHERE f.id IN (SELECT value FROM json_each(?)) ORDER BY f.id",
            (json.dumps(ids[i : i + _CHUNK]),),
        ):
            if any(a <= row[1] < b for a, b in allowed) and _has_all(row[2], others):
                found.append(row)
                if len(found) >= limit:
                    return found
    return found


def _has_all(raw_path: str | bytes, words: list[str]) -> bool:
    """Whether the name of the file at ``raw_path`` (as stored) has a word starting with
    each of ``words``."""
    if not words:
        return True
    have = search_words(from_db(raw_path).rpartition("/")[2])
    return all(any(w.startswith(word) for w in have) for word in words)
