"""The search words of a full build: folder_words, name_words and word_folders.

See migrations/0001_initial.sql: a file is found by the words of its folder's
path (``folder_words``, per folder) and by those of its name that the folder
lacks (``name_words``, per file); ``word_folders`` (migrations/0007) lists the
folders having each start of a word (``index/words.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter

import orjson

from ..index import words as search_rows
from ..names import db_text, search_words

_NAMES_AT_ONCE = 20_000  # distinct names whose words go into SQLite in one document


def insert_words(
    conn: sqlite3.Connection,
    folders: Sequence[tuple[int, int, set[str]]],
    names: Iterable[str],
) -> None:
    """folder_words, name_words and word_folders, from the words of each folder ((id,
    first file's id, words) in natural order) and of each distinct file name (``names``),
    after the ``files`` rows: ``words_of_names`` then ``name_rows``.

    Only the words of each distinct name are worked out in Python (86k names
    at 1M files), here as they go into SQLite (held for every name until
    then, as sets, they were ~100 MB of a cold build's peak at 1M files);
    which of them a file's folder lacks, and the counts per folder, are joined
    and sorted inside SQLite. A loop over every word of every file cost 5 s at
    1M files, its JSON 4 s more.
    """
    words_of_names(conn, [(fid, words) for fid, _, words in folders], names)
    name_rows(conn, folders)


def words_of_names(conn: sqlite3.Connection, folders: Iterable[tuple[int, Iterable[str]]],
                   names: Iterable[str]) -> None:
    """folder_words, from (id, words) of each folder, and ``temp.name_word_of``: the
    words of each distinct name. Neither reads the ``files`` rows (``wordsproc.py``
    makes them while the rows are written)."""
    conn.executemany(
        "INSERT INTO folder_words VALUES (?, ?)",
        sorted((word, fid) for fid, words in folders for word in words),
    )
    conn.execute(
        "CREATE TEMP TABLE name_word_of (name TEXT NOT NULL, word TEXT NOT NULL,"
        " shared INTEGER NOT NULL, PRIMARY KEY (name, word)) WITHOUT ROWID"
    )
    # Keyed by the name column as stored (a name that is not UTF-8 is kept shown with
    # U+FFFD: its words are those of that shown form, as search_words finds them).
    # ``shared``: some folder's path has the word too. Only then can a file's folder
    # have it: the others skip that lookup (3.5M of them at 1M files, ~0.4 s).
    # The names go in key order, so the table is appended to, as JSON documents that
    # SQLite expands (binding each (name, word) from Python cost 0.93 s against 0.65 s
    # for the 409k rows of 86k names at 1M files), a chunk of names at a time.
    shown = sorted((db_text(name)[0], name) for name in names)
    for at in range(0, len(shown), _NAMES_AT_ONCE):
        conn.execute(
            "INSERT OR IGNORE INTO temp.name_word_of"
            " SELECT json_extract(n.value, '$[0]'), w.value,"
            "        EXISTS (SELECT 1 FROM folder_words AS d WHERE d.word = w.value)"
            " FROM json_each(?) AS n, json_each(n.value, '$[1]') AS w",
            (orjson.dumps([(key, sorted(search_words(name)))
                           for key, name in shown[at:at + _NAMES_AT_ONCE]]).decode(),),
        )


def name_rows(conn: sqlite3.Connection, folders: Sequence[tuple[int, int, set[str]]]) -> None:
    """name_words, from ``temp.name_word_of`` and the ``files`` rows (then dropped), and
    word_folders, from those and each folder's (id, first file's id, words)."""
    conn.execute(
        "INSERT INTO name_words SELECT f.folder_id, w.word, f.id"
        " FROM files AS f JOIN temp.name_word_of AS w ON w.name = f.name"
        " WHERE NOT w.shared OR NOT EXISTS (SELECT 1 FROM folder_words AS d"
        "                                   WHERE d.word = w.word AND d.folder_id = f.folder_id)"
        " ORDER BY 1, 2, 3"
    )
    conn.execute("DROP TABLE temp.name_word_of")
    # Each folder's name words (those its path lacks), read back in key order a
    # folder at a time: the distinct (folder, word) pairs are what word_folders
    # needs, not the files. Held for every folder at once they were ~60 MB at 1M.
    pairs = conn.execute("SELECT DISTINCT folder_id, word FROM name_words ORDER BY 1")
    search_rows.write_word_folders(
        conn,
        folders,
        ((fid, [word for _, word in rows]) for fid, rows in groupby(pairs, key=itemgetter(0))),
    )
