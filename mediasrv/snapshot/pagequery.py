"""The SQL of a page of a tag, in either order: of its files' columns, or of their text.

A page is one query: the tag's file count, then each file at positions
[:offset, :end) with its position (the tag ``:tag_key``). In name order it is the
run holding :offset (``tag_runs``' primary key) and then a range of
``files(folder_id, pos)``; by time taken, a slice of the ``tag_taken`` chunks
(see migrations/0002_delta.sql and mediasrv/index/dateorder.py).
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from .base import AUDIO_JOIN, FILE_COLUMNS
from .rendered import Rendering, finish, written

# Files at positions [:offset, :end) of the tag: the run holding :offset, the
# runs after it that start before :end, and each one's range of files.
_BY_NAME = """
SELECT t.file_count, {at} AS position, {columns}
FROM tags AS t
LEFT JOIN tag_runs AS r ON r.tag_id = t.id
    AND r.start >= (SELECT max(start) FROM tag_runs WHERE tag_id = t.id AND start <= :offset)
    AND r.start < :end
LEFT JOIN files AS f ON f.folder_id = r.folder_id
    AND f.pos >= r.first + max(:offset - r.start, 0)
    AND f.pos < r.first + min(r.count, :end - r.start)
{audio}
WHERE t.key = :tag_key
ORDER BY position
"""

# sort=taken, newest first: positions [:offset, :end) are [count - :end, count - :offset)
# of the chunks' oldest-first order: the chunk holding the first of them, the chunks
# after it that start before the last, a slice of each.
_BY_TAKEN = """
SELECT t.file_count, {at} AS position, {columns}
FROM tags AS t
LEFT JOIN tag_taken AS c ON c.tag_id = t.id
    AND c.start >= (SELECT max(start) FROM tag_taken
                    WHERE tag_id = t.id AND start <= max(t.file_count - :end, 0))
    AND c.start < t.file_count - :offset
LEFT JOIN json_each(c.files) AS j ON c.start + j.key >= t.file_count - :end
    AND c.start + j.key < t.file_count - :offset
LEFT JOIN files AS f ON f.id = j.value
{audio}
WHERE t.key = :tag_key
ORDER BY position
"""

_AT = {"name": "r.start + f.pos - r.first", "taken": "t.file_count - 1 - (c.start + j.key)"}


def _query(sort: str, columns: str) -> str:
    template = _BY_TAKEN if sort == "taken" else _BY_NAME
    return template.format(at=_AT[sort], columns=columns, audio=AUDIO_JOIN)


PAGE = {sort: _query(sort, FILE_COLUMNS) for sort in _AT}  # then the file's columns


@functools.lru_cache(maxsize=32)  # a few renderings' SQL, made once
def _rendered_query(sort: str, sql: str, where: str) -> str:
    return _query(sort, f"{written(sql, where, _AT[sort])}, f.id, f.path")


def rendered_page(
    conn: sqlite3.Connection, sort: str, params: dict[str, Any], rendering: Rendering
) -> tuple[int, list[tuple[str, str]]] | None:
    """(files in the tag, (path, text) of each file of the page) on ``conn``; None if
    there is no such tag. (In a reader's thread.)"""
    sql = _rendered_query(sort, rendering.sql, rendering.where)
    rows = conn.execute(sql, {**params, **rendering.params}).fetchall()
    if not rows:
        return None
    return rows[0][0], finish(conn, rows, rendering)
