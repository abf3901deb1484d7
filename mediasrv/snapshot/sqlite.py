"""The ``sqlite`` backend: a generation served straight from its file.

Every query is one round trip on one connection of a small pool, and every
lookup is an index lookup: a page of a tag is the run holding its first
position (``tag_runs``' primary key) and then a range of ``files(folder_id,
pos)`` (see migrations/0002_delta.sql).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from ..errors import FileNotIndexed, UnknownTag
from ..names import ALL_KEY, db_text, from_db, tag_key, tag_order
from . import base
from .base import FILE_COLUMNS, Neighbours, Snapshot, file_dict, folder_names
from .pagequery import PAGE, rendered_page
from .readers import Pool, Reader
from .rendered import Rendering
from .search import search

_F = FILE_COLUMNS  # what every query returns of a file f (and AUDIO_JOIN)
_TAG = "t.key = :tag_key"  # any spelling of the tag (tags_key)

# The file's position in the tag (the run of its folder holding its pos), then
# the files at that position and either side of it.
_NEIGHBOURS = f"""
WITH t AS (SELECT id, file_count FROM tags AS t WHERE {_TAG}),
me AS (SELECT folder_id, pos FROM files WHERE path = :path AND path_bytes IS :path_bytes),
hit AS (
    SELECT t.id AS tag_id, t.file_count AS total, r.start + me.pos - r.first AS p
    FROM t, me JOIN tag_runs AS r ON r.tag_id = t.id AND r.folder_id = me.folder_id
        AND r.first <= me.pos AND me.pos < r.first + r.count
)
SELECT hit.p, hit.total, r.start + f.pos - r.first AS position, {_F}
FROM hit JOIN tag_runs AS r ON r.tag_id = hit.tag_id
    AND r.start >= (SELECT max(start) FROM tag_runs
                    WHERE tag_id = hit.tag_id AND start <= max(hit.p - 1, 0))
    AND r.start <= hit.p + 1
JOIN files AS f ON f.folder_id = r.folder_id
    AND f.pos >= r.first + max(hit.p - 1 - r.start, 0)
    AND f.pos < r.first + min(r.count, hit.p + 2 - r.start)
{base.AUDIO_JOIN}
ORDER BY position
"""

# The file's chunk (the last whose first key is not after the file's key), its
# place there, then the files either side of it, as in _NEIGHBOURS.
_NEIGHBOURS_TAKEN = f"""
WITH t AS (SELECT id, file_count FROM tags AS t WHERE {_TAG}),
me AS (SELECT id, coalesce(taken_ns, mtime_ns) AS k FROM files
       WHERE path = :path AND path_bytes IS :path_bytes),
c AS (
    SELECT tag_id, start, files FROM tag_taken  -- found in tag_taken_key, read backwards
    WHERE tag_id = (SELECT id FROM t) AND (taken, file_id) <= (SELECT k, id FROM me)
    ORDER BY taken DESC, file_id DESC LIMIT 1
),
hit AS (
    SELECT c.tag_id, t.file_count AS total, c.start + j.key AS p
    FROM c, t, me, json_each(c.files) AS j WHERE j.value = me.id
)
SELECT hit.total - 1 - hit.p, hit.total, hit.total - 1 - (r.start + j.key) AS position, {_F}
FROM hit JOIN tag_taken AS r ON r.tag_id = hit.tag_id
    AND r.start >= (SELECT max(start) FROM tag_taken
                    WHERE tag_id = hit.tag_id AND start <= max(hit.p - 1, 0))
    AND r.start <= hit.p + 1
JOIN json_each(r.files) AS j ON r.start + j.key BETWEEN hit.p - 1 AND hit.p + 1
JOIN files AS f ON f.id = j.value
{base.AUDIO_JOIN}
ORDER BY position
"""

# One file per draw: position int(draw * count), found as a page of one.
_AT = "CAST(d.value * t.file_count AS INTEGER)"
_RANDOM = f"""
SELECT t.file_count, {_F}
FROM tags AS t
LEFT JOIN json_each(:draws) AS d
LEFT JOIN tag_runs AS r ON r.tag_id = t.id
    AND r.start = (SELECT max(start) FROM tag_runs WHERE tag_id = t.id AND start <= {_AT})
    AND {_AT} < r.start + r.count
LEFT JOIN files AS f ON f.folder_id = r.folder_id AND f.pos = r.first + {_AT} - r.start
{base.AUDIO_JOIN}
WHERE {_TAG}
ORDER BY d.key
"""


# A tag's months newest first: its primary key read backwards. (Only ``All`` of an empty
# library is a tag without months.)
_MONTHS = f"""
SELECT m.month, m.count FROM tag_months AS m
WHERE m.tag_id = (SELECT id FROM tags AS t WHERE {_TAG})
ORDER BY m.month DESC
"""


# Each tag's newest file: the last id of the last chunk of its oldest-first date order.
_COVERS = f"""
SELECT coalesce(t.name_bytes, t.name), {_F}
FROM tags AS t
JOIN tag_taken AS c ON c.tag_id = t.id
    AND c.start = (SELECT max(start) FROM tag_taken WHERE tag_id = t.id)
JOIN files AS f ON f.id = json_extract(c.files, '$[#-1]')
{base.AUDIO_JOIN}
"""


def _tag_params(tag: str) -> dict[str, Any]:
    return {"tag_key": tag_key(tag)}


def _path_params(path: str) -> dict[str, Any]:
    shown, raw = db_text(path)
    return {"path": shown, "path_bytes": raw}


class SqliteSnapshot(Snapshot):
    """A generation served straight from its SQLite file."""

    state = "sqlite"

    def __init__(self, path: Path, meta: dict[str, Any], pool_size: int = 3) -> None:
        super().__init__(path, meta)
        self._pool = Pool(self.path, pool_size)
        self._tags: list[tuple[str, int]] | None = None  # the file never changes: read once
        self._names: dict[str, str] = {}  # tag key -> the name it is shown by
        self._covers: dict[str, dict[str, Any]] | None = None
        self._folders: tuple[frozenset[str], frozenset[str]] | None = None
        # Search has a reader of its own: a search that visits many folders
        # never holds a pool connection that pages and lookups are waiting for.
        self._searcher: Reader | None = None

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()
        searcher, self._searcher = self._searcher, None
        if searcher is not None:
            await searcher.close()

    async def tags(self) -> list[tuple[str, int]]:
        if self._tags is None:
            rows = await self._pool.fetch(
                "SELECT coalesce(name_bytes, name), file_count, key FROM tags"
            )
            counts = {from_db(name): count for name, count, _ in rows}
            self._names = {key: from_db(name) for name, _, key in rows}
            self._tags = [(name, counts[name]) for name in tag_order(counts)]
        return list(self._tags)

    async def tag_name(self, tag: str) -> str:
        if self._tags is None:
            await self.tags()
        found = self._names.get(tag_key(tag))
        if found is None:
            raise UnknownTag(tag)
        return found

    async def page(
        self, tag: str, offset: int, limit: int, sort: str = "name",
    ) -> tuple[int, list[dict[str, Any]]]:
        rows = await self._pool.fetch(
            PAGE[sort], {**_tag_params(tag), "offset": offset, "end": offset + limit})
        if not rows:
            raise UnknownTag(tag)
        return rows[0][0], [file_dict(r[2:]) for r in rows if r[2] is not None]

    async def page_rendered(
        self, tag: str, offset: int, limit: int, sort: str, rendering: Rendering,
    ) -> tuple[int, list[tuple[str, str]]]:
        found = await self._pool.run(
            rendered_page, sort, {**_tag_params(tag), "offset": offset, "end": offset + limit},
            rendering)
        if found is None:
            raise UnknownTag(tag)
        return found

    async def _neighbours(self, path: str, tag: str, sort: str) -> Neighbours | None:
        rows = await self._pool.fetch(_NEIGHBOURS_TAKEN if sort == "taken" else _NEIGHBOURS,
                                      {**_tag_params(tag), **_path_params(path)})
        if not rows:
            return None
        position, total = rows[0][0], rows[0][1]
        at = {r[2]: file_dict(r[3:]) for r in rows}
        return Neighbours(at[position], tag, position, total, at.get(position - 1),
                          at.get(position + 1))

    async def _known(self, path: str, tag: str) -> tuple[bool, bool]:
        rows = await self._pool.fetch(
            f"SELECT (SELECT count(*) FROM tags AS t WHERE {_TAG}),"
            " (SELECT count(*) FROM files WHERE path = :path AND path_bytes IS :path_bytes)",
            {**_tag_params(tag), **_path_params(path)},
        )
        return bool(rows[0][0]), bool(rows[0][1])

    async def get(self, path: str) -> dict[str, Any]:
        rows = await self._pool.fetch(
            f"SELECT {_F} FROM files AS f {base.AUDIO_JOIN}"
            " WHERE f.path = :path AND f.path_bytes IS :path_bytes",
            _path_params(path),
        )
        if not rows:
            raise FileNotIndexed(path)
        return file_dict(rows[0])

    async def _details(self, path: str) -> Sequence[Any] | None:
        rows = await self._pool.fetch(
            f"SELECT {base.DETAILS_COLUMNS} FROM files AS f JOIN file_details AS d"
            " ON d.file_id = f.id WHERE f.path = :path AND f.path_bytes IS :path_bytes",
            _path_params(path),
        )
        return rows[0] if rows else None

    async def lookup(self, paths: Collection[str]) -> list[dict[str, Any]]:
        if not paths:
            return []
        # By the shown path (the index files_path), then exactly: two names that are not
        # UTF-8 may show alike.
        rows = await self._pool.fetch(
            f"SELECT {_F} FROM files AS f {base.AUDIO_JOIN}"
            " WHERE f.path IN (SELECT value FROM json_each(?)) ORDER BY f.id",
            (json.dumps([db_text(path)[0] for path in paths]),),
        )
        wanted = set(paths)
        return [file_dict(row) for row in rows if from_db(row[0]) in wanted]

    async def covers(self) -> dict[str, dict[str, Any]]:
        if self._covers is None:  # the file never changes: read once
            rows = await self._pool.fetch(_COVERS)
            self._covers = {from_db(r[0]): file_dict(r[1:]) for r in rows}
        return dict(self._covers)

    async def folder_names(self) -> tuple[frozenset[str], frozenset[str]]:
        if self._folders is None:
            paths = [from_db(p) for (p,) in await self._pool.fetch(
                "SELECT coalesce(path_bytes, path) FROM folders")]
            self._folders = folder_names(paths)
        return self._folders

    async def months(self, tag: str) -> list[tuple[int, int]]:
        rows = await self._pool.fetch(_MONTHS, _tag_params(tag))
        if not rows and tag_key(tag) != ALL_KEY:
            raise UnknownTag(tag)
        return [(month, count) for month, count in rows]

    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            _RANDOM, {**_tag_params(tag), "draws": json.dumps(list(draws))}
        )
        if not rows:
            raise UnknownTag(tag)
        return [file_dict(r[1:]) for r in rows if r[1] is not None]

    async def _search(self, words: list[str], limit: int, tag: str) -> list[dict[str, Any]]:
        if self._searcher is None:  # made on the first search: most generations see none
            self._searcher = Reader(self.path, f"search-{self.path.name}")
        return await self._searcher.call(_search_in, words, limit, tag)


def _search_in(
    conn: sqlite3.Connection, words: list[str], limit: int, tag: str
) -> list[dict[str, Any]]:
    """(In the search reader's thread.)"""
    tag_id = None
    if tag_key(tag) != ALL_KEY:
        row = conn.execute("SELECT id FROM tags WHERE key = ?", (tag_key(tag),)).fetchone()
        if row is None:
            raise UnknownTag(tag)
        tag_id = row[0]
    return [file_dict(r) for r in search(conn, words, limit, tag_id)]
