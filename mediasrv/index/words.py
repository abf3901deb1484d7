"""The search tables of a generation: written by a full build, patched by a delta.

A path's words (``names.search_words``) are its folder's, kept once per folder
(``folder_words``), and its name's other words, kept per file (``name_words``).
``word_folders`` (migrations/0007_folder_search.sql) lists, for every start of
a word, the folders whose path or names have it, by ``folders.first_id``: the
order a search visits them in. It is keyed by the folder's first file, so a
folder whose first file changes has its rows written again; any other change
touches only the rows of the starts its added or removed names bring or take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from operator import rshift

import orjson

from ..names import name_only_words, search_words

WORD_END = "\U0010ffff"  # sorts after every character: [w, w+END) is "starts with w"

_CHUNK_ROWS = 500_000  # word_folders rows written at a time by a full build


def starts(words: Iterable[str]) -> set[str]:
    """Every start of each word (``ab`` gives ``a`` and ``ab``)."""
    return {word[:i] for word in words for i in range(1, len(word) + 1)}


def write_word_folders(
    conn: sqlite3.Connection,
    folders: Sequence[tuple[int, int, set[str]]],
    by_folder: Iterable[tuple[int, Iterable[str]]],
) -> None:
    """``word_folders`` of a full build (inside the caller's transaction).

    ``folders`` is (folder id, first file id, its path's words) of each folder
    in natural order (first ids rise); ``by_folder`` (folder id, its name words that
    its path lacks) of the folders that have any, folder ids rising as in ``folders``
    (``scan/fullwords.py`` reads them back from name_words a folder at a time).
    """
    # A row is one number in a list, first_id * 2 + in_path, and the lists are
    # expanded inside SQLite from JSON: 4.4M rows at 100k folders, so tuples would
    # cost ~90 bytes a row and binding them three times the time. A start's list
    # is its one word's, or its words' merged in C (sorted, then one number per
    # folder, in_path if any of them has it): a loop over every start of every
    # word of every folder cost 1.0 s at 100k folders.
    of_word = _word_lists(folders, by_folder)
    words_of: dict[str, list[str]] = {}
    for word in of_word:
        for i in range(1, len(word) + 1):
            having = words_of.get(word[:i])
            if having is None:
                words_of[word[:i]] = [word]
            else:
                having.append(word)
    chunk: dict[str, list[int]] = {}
    size = 0
    for start in sorted(words_of):  # in pieces: SQLite parses each document whole
        having = words_of.pop(start)
        if len(having) == 1:
            found = of_word[having[0]]
        else:
            keys = sorted(chain.from_iterable(map(of_word.__getitem__, having)))
            found = list(dict(zip(map(rshift, keys, repeat(1)), keys, strict=True)).values())
        chunk[start] = found
        size += len(found)
        if size >= _CHUNK_ROWS or not words_of:
            conn.execute(
                "INSERT INTO word_folders SELECT s.key, r.value >> 1, r.value & 1"
                " FROM json_each(?) AS s, json_each(s.value) AS r",
                (orjson.dumps(chunk).decode(),),  # text: a BLOB would be read as JSONB
            )
            chunk, size = {}, 0


def _word_lists(
    folders: Sequence[tuple[int, int, set[str]]],
    by_folder: Iterable[tuple[int, Iterable[str]]],
) -> dict[str, list[int]]:
    """Each word's folders, as first_id * 2 + in_path (``write_word_folders``' arguments).

    Folders come in natural order, so each list rises as it grows; a folder gives
    a word once, its path's words before its names' (a word its path has is in_path).
    """
    of_word: dict[str, list[int]] = {}

    def add(words: Iterable[str], key: int) -> None:
        for word in words:
            found = of_word.get(word)
            if found is None:
                of_word[word] = [key]
            elif found[-1] < key & ~1:  # not this folder's already
                found.append(key)

    named = iter(by_folder)
    pending = next(named, None)
    for fid, first, words in folders:
        add(words, first * 2 + 1)
        if pending is not None and pending[0] == fid:
            add(pending[1], first * 2)
            pending = next(named, None)
    if pending is not None:
        raise ValueError(f"name words of folder {pending[0]}, not in folders or out of order")
    return of_word


def update(
    conn: sqlite3.Connection,
    folders: Iterable[tuple[int, str, list[tuple[str, int]], list[tuple[str, int]]]],
    added: Iterable[str],
    removed: Iterable[str],
) -> None:
    """Patch ``word_folders`` after a delta wrote the touched folders' rows and name words.

    ``folders`` is (folder id, path, old files, new files) of each touched
    folder, files as (path, id) in natural order; ``added`` and ``removed`` the
    paths of the files that came and went.
    """
    came: dict[str, list[str]] = {}
    went: dict[str, list[str]] = {}
    for path in added:
        came.setdefault(path.rpartition("/")[0], []).append(path)
    for path in removed:
        went.setdefault(path.rpartition("/")[0], []).append(path)
    # Rows keyed by a first file that changed go first: a new first file may
    # have the id another folder's old first file had.
    moved: list[tuple[str, int, int]] = []
    for folder_id, folder, old, new in folders:
        in_path = starts(search_words(folder))
        old_first = old[0][1] if old else None
        new_first = new[0][1] if new else None
        if old_first != new_first:  # keyed by the first file: every row of it moves
            if old_first is not None:
                gone = in_path | starts(w for p, _ in old for w in name_only_words(p))
                conn.executemany(
                    "DELETE FROM word_folders WHERE prefix = ? AND first_id = ?",
                    ((s, old_first) for s in gone),
                )
            if new_first is not None:
                named = starts(w for p, _ in new for w in name_only_words(p)) - in_path
                moved += ((s, new_first, 1) for s in in_path)
                moved += ((s, new_first, 0) for s in named)
        elif new_first is not None:
            _patch(conn, folder_id, new_first, in_path, came.get(folder, []), went.get(folder, []))
    conn.executemany("INSERT INTO word_folders VALUES (?, ?, ?)", moved)


def _patch(
    conn: sqlite3.Connection,
    folder_id: int,
    first_id: int,
    in_path: set[str],
    came: list[str],
    went: list[str],
) -> None:
    """The rows of a folder that kept its first file, for the names that ``came`` and
    ``went`` (paths): only starts that no name of it has any more are dropped."""
    brought = starts(w for p in came for w in name_only_words(p)) - in_path
    conn.executemany(
        "INSERT OR IGNORE INTO word_folders VALUES (?, ?, 0)",
        ((s, first_id) for s in brought),
    )
    for start in starts(w for p in went for w in name_only_words(p)) - in_path - brought:
        left = conn.execute(
            "SELECT 1 FROM name_words WHERE folder_id = ? AND word >= ? AND word < ? LIMIT 1",
            (folder_id, start, start + WORD_END),
        )
        if left.fetchone() is None:  # no name of the folder has it any more
            conn.execute(
                "DELETE FROM word_folders WHERE prefix = ? AND first_id = ?", (start, first_id)
            )
