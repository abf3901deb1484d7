"""The ``memory`` backend: one generation held in plain Python structures.

This is the seed design's double buffer: the whole index in RAM, one copy
serving while the next is loaded, swapped by reference. It is fed from the
same published generation file as the SQLite backend, so both index exactly
the same scan, and it answers every query exactly as ``SqliteSnapshot`` does
(``tests/test_parity.py`` proves it). It exists to compare against.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import sqlite3
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import db
from .errors import FileNotIndexed, UnknownTag
from .names import query_words
from .snapshot import FILE_COLUMNS, Neighbours, Snapshot, file_dict, prefix_range

_COLUMNS = ", ".join(FILE_COLUMNS)


@dataclass(frozen=True, slots=True)
class _Tag:
    """One tag: its file count and its files' ids, index = position in the tag.

    File ids are ranks in natural order and positions follow natural order
    too (migrations/0001_initial.sql), so ``members`` rises and bisect finds
    a file's position.
    """

    count: int
    members: array


@dataclass(frozen=True, slots=True)
class _Index:
    files: list[tuple[Any, ...] | None]  # index = file id; FILE_COLUMNS
    ids: dict[str, int]  # path -> id
    tags: dict[str, _Tag]
    tag_list: list[tuple[str, int]]  # in tags.id order
    words: list[str]  # sorted search words
    postings: list[array]  # file ids of words[i], ascending


def _int_array(values: list[int]) -> array:
    return array("q", values)


def load(path: Path) -> _Index:
    """Read a whole generation file into memory (blocking; run it in a thread)."""
    conn = db.connect_ro(path)
    try:
        return _load(conn)
    finally:
        conn.close()


def _load(conn: sqlite3.Connection) -> _Index:
    rows = conn.execute(f"SELECT id, {_COLUMNS} FROM files ORDER BY id").fetchall()
    if any(row[0] != i for i, row in enumerate(rows, 1)):
        raise db.InvalidGeneration("files.id is not the rank 1..N the schema promises")
    files: list[tuple[Any, ...] | None] = [None]
    files.extend(row[1:] for row in rows)
    ids = {row[1]: row[0] for row in rows}
    del rows

    tag_rows = conn.execute("SELECT id, name, file_count FROM tags ORDER BY id").fetchall()
    # One row per tag with its members as a JSON array: far fewer Python
    # objects than one row per (tag, file), so loading takes a fraction.
    # (tag_id, position) is the primary key, so distinct positions from 0 to
    # count-1 are exactly the dense run the schema promises.
    members: dict[int, tuple[bool, list[int]]] = {}
    for tag_id, low, high, rows_n, file_ids in conn.execute(
        "SELECT tag_id, min(position), max(position), count(*), json_group_array(file_id)"
        " FROM (SELECT tag_id, position, file_id FROM file_tags ORDER BY tag_id, position)"
        " GROUP BY tag_id"
    ):
        members[tag_id] = (low == 0 and high == rows_n - 1, json.loads(file_ids))
    tags: dict[str, _Tag] = {}
    for tag_id, name, count in tag_rows:
        dense, file_ids = members.get(tag_id, (True, []))
        tags[name] = _tag(name, count, dense, file_ids)

    words: list[tuple[str, array]] = [
        (word, _int_array(json.loads(file_ids)))
        for word, file_ids in conn.execute(
            "SELECT word, json_group_array(file_id) FROM"
            " (SELECT word, file_id FROM search_words ORDER BY word, file_id) GROUP BY word"
        )
    ]
    words.sort(key=lambda pair: pair[0])  # Python's order, which prefix_range relies on
    return _Index(
        files=files,
        ids=ids,
        tags=tags,
        tag_list=[(name, count) for _, name, count in tag_rows],
        words=[w for w, _ in words],
        postings=[p for _, p in words],
    )


def _tag(name: str, count: int, dense: bool, file_ids: list[int]) -> _Tag:
    if not dense or len(file_ids) != count:
        raise db.InvalidGeneration(f"tag {name!r}: positions do not run 0 .. file_count-1")
    if any(a >= b for a, b in itertools.pairwise(file_ids)):
        raise db.InvalidGeneration(f"tag {name!r}: files are not in natural (id) order")
    return _Tag(count, _int_array(file_ids))


class MemorySnapshot(Snapshot):
    """A generation loaded into RAM; every query is a few dict and list lookups."""

    state = "memory"

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        super().__init__(path, meta)
        self._index: _Index | None = None

    async def open(self) -> None:
        # Off the event loop: at 100k files the load takes most of a second.
        self._index = await asyncio.to_thread(load, self.path)

    async def close(self) -> None:
        self._index = None

    @property
    def _ix(self) -> _Index:
        if self._index is None:
            raise RuntimeError(f"generation {self.generation} is not open")
        return self._index

    def _file(self, file_id: int) -> dict[str, Any]:
        row = self._ix.files[file_id]
        assert row is not None  # ids come from the index itself
        return file_dict(row)

    def _tag(self, tag: str) -> _Tag:
        found = self._ix.tags.get(tag)
        if found is None:
            raise UnknownTag(tag)
        return found

    async def tags(self) -> list[tuple[str, int]]:
        return list(self._ix.tag_list)

    async def page(self, tag: str, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        found = self._tag(tag)
        start, end = max(offset, 0), max(offset + limit, 0)
        return found.count, [self._file(fid) for fid in found.members[start:end]]

    async def neighbours(self, path: str, tag: str) -> Neighbours:
        found = self._tag(tag)
        file_id = self._ix.ids.get(path)
        position = None if file_id is None else _position(found, file_id)
        if file_id is None or position is None:
            raise FileNotIndexed(path, None if file_id is None else tag)
        members = found.members
        prev = self._file(members[position - 1]) if position > 0 else None
        after = self._file(members[position + 1]) if position + 1 < len(members) else None
        return Neighbours(self._file(file_id), tag, position, found.count, prev, after)

    async def get(self, path: str) -> dict[str, Any]:
        file_id = self._ix.ids.get(path)
        if file_id is None:
            raise FileNotIndexed(path)
        return self._file(file_id)

    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        found = self._tag(tag)
        picked = []
        for draw in draws:
            position = int(draw * found.count)  # truncates toward zero, as SQLite's CAST
            if 0 <= position < len(found.members):
                picked.append(self._file(found.members[position]))
        return picked

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        words = query_words(query)
        if not words:
            return []
        ix = self._ix
        matches: set[int] | None = None
        for word in words:
            lo, hi = prefix_range(ix.words, word)
            having: set[int] = set()
            for posting in ix.postings[lo:hi]:
                having.update(posting)
            matches = having if matches is None else matches & having
            if not matches:
                return []
        assert matches is not None
        return [self._file(fid) for fid in sorted(matches)[:limit]]


def _position(tag: _Tag, file_id: int) -> int | None:
    members = tag.members
    i = bisect.bisect_left(members, file_id)
    return i if i < len(members) and members[i] == file_id else None
