"""word_folders of a full build (``index/words.write_word_folders``) against its definition.

Every start of a word lists the folders whose path or names have it, one row per
(start, folder), in_path 1 when the folder's path has a word with that start.
"""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from mediasrv.index import words

WORDS = ["a", "ab", "abc", "b", "ba", "1", "12", "120", "2", "beach", "bea", "x"]


def written(folders: list[tuple[int, int, tuple[str, ...]]],
            named: list[tuple[int, list[str]]]) -> list[tuple[str, int, int]]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE word_folders (prefix TEXT NOT NULL, first_id INTEGER NOT NULL,"
                 " in_path INTEGER NOT NULL, PRIMARY KEY (prefix, first_id)) WITHOUT ROWID")
    words.write_word_folders(conn, folders, named)
    return conn.execute("SELECT * FROM word_folders ORDER BY prefix, first_id").fetchall()


def defined(folders: list[tuple[int, int, tuple[str, ...]]],
            named: list[tuple[int, list[str]]]) -> list[tuple[str, int, int]]:
    names = dict(named)
    rows: dict[tuple[str, int], int] = {}
    for fid, first, path_words in folders:
        for start in words.starts(names.get(fid, [])):
            rows[start, first] = 0
        for start in words.starts(path_words):
            rows[start, first] = 1
    return sorted((start, first, in_path) for (start, first), in_path in rows.items())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(WORDS), max_size=4),
                          st.sets(st.sampled_from(WORDS), max_size=4)), max_size=12),
       st.integers(1, 5))
def test_each_start_lists_its_folders_in_path_when_a_path_word_has_it(
        found: list[tuple[set[str], set[str]]], spacing: int) -> None:
    folders, named = [], []
    for fid, (path_words, name_words) in enumerate(found, 1):
        folders.append((fid, fid * 10 * spacing, tuple(sorted(path_words))))
        if name_words - path_words:  # name words are those the folder's path lacks
            named.append((fid, sorted(name_words - path_words)))
    assert written(folders, named) == defined(folders, named)


def test_a_start_of_a_path_word_and_of_a_name_word_is_in_path_once() -> None:
    folders = [(1, 10, ("beach",)), (2, 20, ("bear",)), (3, 30, ())]
    named = [(1, ["bea", "x"]), (3, ["ba"])]
    rows = written(folders, named)
    assert rows == defined(folders, named)
    assert [r for r in rows if r[0] == "b"] == [("b", 10, 1), ("b", 20, 1), ("b", 30, 0)]
    assert [r for r in rows if r[0] == "bea"] == [("bea", 10, 1), ("bea", 20, 1)]
    assert ("x", 10, 0) in rows
