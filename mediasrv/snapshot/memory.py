"""The ``memory`` backend: one generation held in plain Python structures.

This is the seed design's double buffer: the whole index in RAM, one copy
serving while the next is loaded, swapped by reference. It is fed from the
same published generation file as the SQLite backend, so both index exactly
the same scan (ranks in natural order stand in for the files' ids), and it
answers every query exactly as ``SqliteSnapshot`` does (``tests/test_parity.py``
proves it). It exists to compare against.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import sqlite3
from array import array
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FileNotIndexed, UnknownTag
from ..index import db
from ..names import ALL_KEY, from_db, tag_key, tag_order
from . import base
from .base import Neighbours, Snapshot, file_dict, folder_names, prefix_range


@dataclass(frozen=True, slots=True)
class _Tag:
    """One tag: its file count and its files' ranks, index = position in the tag.

    Ranks follow natural order and so do positions within a tag, so
    ``members`` rises and bisect finds a file's position. ``taken`` is the
    same files by time taken, oldest first (the ``tag_taken`` chunks);
    ``months`` (YYYYMM, files) newest first (``tag_months``).
    """

    name: str  # the spelling it is shown by
    count: int
    members: array
    taken: array
    months: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class _Index:
    files: list[tuple[Any, ...]]  # index = rank in natural order (ORDER BY id); file_dict rows
    ranks: dict[str, int]  # exact path -> rank
    details: dict[int, tuple[Any, ...]]  # rank -> its file_details row (Details' fields)
    times: array  # index = rank: the time sort=taken orders by
    tags: dict[str, _Tag]  # by tag_key: any spelling finds the tag
    tag_list: list[tuple[str, int]]  # All first, then natural order
    folders: tuple[frozenset[str], frozenset[str]]  # top folder names, every folder name
    words: list[str]  # sorted search words
    postings: list[array]  # ranks of the files having words[i], ascending


def load(path: Path) -> _Index:
    """Read a whole generation file into memory (blocking; run it in a thread)."""
    conn = db.connect_ro(path)
    try:
        return _read_index(conn)
    finally:
        conn.close()


def _read_index(conn: sqlite3.Connection) -> _Index:
    files: list[tuple[Any, ...]] = []
    rank_of_id: dict[int, int] = {}
    in_folder: dict[int, list[int]] = {}  # folder id -> ranks of its files, index = pos
    for rank, (file_id, folder_id, pos, *columns) in enumerate(
        conn.execute(f"SELECT f.id, f.folder_id, f.pos, {base.FILE_COLUMNS} FROM files AS f"
                     f" {base.AUDIO_JOIN} ORDER BY f.id")
    ):
        files.append(tuple(columns))
        rank_of_id[file_id] = rank
        ranks = in_folder.setdefault(folder_id, [])
        if pos != len(ranks):
            raise db.InvalidGeneration(f"folder {folder_id}: pos does not run 0, 1, 2 ...")
        ranks.append(rank)
    exact = [from_db(row[0]) for row in files]
    ranks_by_path = {path: rank for rank, path in enumerate(exact)}

    names = {tag_id: (from_db(name), count) for tag_id, name, count in conn.execute(
        "SELECT id, coalesce(name_bytes, name), file_count FROM tags")}
    members: dict[int, array] = {tag_id: array("q") for tag_id in names}
    for tag_id, start, folder_id, first, count in conn.execute(
        "SELECT tag_id, start, folder_id, first, count FROM tag_runs ORDER BY tag_id, start"
    ):
        found = members[tag_id]
        if start != len(found) or first + count > len(in_folder.get(folder_id, ())):
            raise db.InvalidGeneration(f"tag {tag_id}: runs do not cover 0 .. file_count-1")
        found.extend(in_folder[folder_id][first:first + count])
    times = array("q", (row[4] if row[8] is None else row[8] for row in files))  # file_dict's
    taken = _read_taken(conn, names, rank_of_id, times)
    months: dict[int, list[tuple[int, int]]] = {tag_id: [] for tag_id in names}
    for tag_id, month, count in conn.execute(
        "SELECT tag_id, month, count FROM tag_months ORDER BY tag_id, month DESC"
    ):
        months.setdefault(tag_id, []).append((month, count))
    tags = {tag_key(name): _tag(name, count, members[tag_id], taken[tag_id], months[tag_id])
            for tag_id, (name, count) in names.items()}

    words: list[tuple[str, array]] = [
        (word, array("q", sorted(rank_of_id[i] for i in json.loads(file_ids))))
        for word, file_ids in conn.execute(
            "SELECT word, json_group_array(file_id) FROM search_words GROUP BY word"
        )
    ]
    words.sort(key=lambda pair: pair[0])  # Python's order, which prefix_range relies on
    return _Index(
        files=files,
        ranks=ranks_by_path,
        details={rank_of_id[file_id]: tuple(row) for file_id, *row in conn.execute(
            f"SELECT d.file_id, {base.DETAILS_COLUMNS} FROM file_details AS d")},
        times=times,
        tags=tags,
        tag_list=[(name, tags[tag_key(name)].count)
                  for name in tag_order([t.name for t in tags.values()])],
        folders=folder_names([from_db(p) for (p,) in conn.execute(
            "SELECT coalesce(path_bytes, path) FROM folders")]),
        words=[w for w, _ in words],
        postings=[p for _, p in words],
    )


def _read_taken(
    conn: sqlite3.Connection, names: dict[int, tuple[str, int]], rank_of_id: dict[int, int],
    times: array,
) -> dict[int, array]:
    """Each tag's ranks by time taken, oldest first, from its chunks (checked)."""
    taken: dict[int, array] = {tag_id: array("q") for tag_id in names}
    for tag_id, start, count, ids in conn.execute(
        "SELECT tag_id, start, count, files FROM tag_taken ORDER BY tag_id, start"
    ):
        found = taken.get(tag_id)
        ranks = [rank_of_id.get(i, -1) for i in json.loads(ids)]
        if found is None or start != len(found) or count != len(ranks) or -1 in ranks:
            raise db.InvalidGeneration(f"tag {tag_id}: sort=taken chunks do not cover it")
        found.extend(ranks)
    for tag_id, found in taken.items():
        if any((times[a], a) >= (times[b], b) for a, b in itertools.pairwise(found)):
            raise db.InvalidGeneration(f"tag {names[tag_id][0]!r}: not in sort=taken order")
    return taken


def _tag(name: str, count: int, members: array, taken: array,
         months: list[tuple[int, int]]) -> _Tag:
    in_months = sum(n for _, n in months)
    if len(members) != count or len(taken) != count or in_months != count:
        raise db.InvalidGeneration(f"tag {name!r}: runs hold {len(members)} files,"
                                   f" sort=taken chunks {len(taken)} and months {in_months},"
                                   f" not {count}")
    if any(a >= b for a, b in itertools.pairwise(members)):
        raise db.InvalidGeneration(f"tag {name!r}: files are not in natural (id) order")
    return _Tag(name, count, members, taken, months)


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

    def _file(self, rank: int) -> dict[str, Any]:
        return file_dict(self._ix.files[rank])

    def _find_tag(self, tag: str) -> _Tag:
        found = self._ix.tags.get(tag_key(tag))
        if found is None:
            raise UnknownTag(tag)
        return found

    async def tags(self) -> list[tuple[str, int]]:
        return list(self._ix.tag_list)

    async def tag_name(self, tag: str) -> str:
        return self._find_tag(tag).name

    async def page(
        self, tag: str, offset: int, limit: int, sort: str = "name",
    ) -> tuple[int, list[dict[str, Any]]]:
        found = self._find_tag(tag)
        start, end = max(offset, 0), max(offset + limit, 0)
        if sort == "taken":  # newest first: the oldest-first list from its end
            n = found.count
            picked = found.taken[max(n - end, 0):max(n - start, 0)][::-1]
            return n, [self._file(rank) for rank in picked]
        return found.count, [self._file(fid) for fid in found.members[start:end]]

    async def _neighbours(self, path: str, tag: str, sort: str) -> Neighbours | None:
        found = self._ix.tags.get(tag_key(tag))
        rank = self._ix.ranks.get(path)
        if found is None or rank is None:
            return None
        if sort == "taken":  # newest first: the oldest-first list read backwards
            at = _taken_position(found, rank, self._ix.times)
            if at is None:
                return None
            before, after = at + 1, at - 1
            members, position = found.taken, found.count - 1 - at
        else:
            found_at = _position(found, rank)
            if found_at is None:
                return None
            members, position, before, after = found.members, found_at, found_at - 1, found_at + 1
        return Neighbours(
            self._file(rank), tag, position, found.count,
            self._file(members[before]) if 0 <= before < len(members) else None,
            self._file(members[after]) if 0 <= after < len(members) else None,
        )

    async def _known(self, path: str, tag: str) -> tuple[bool, bool]:
        return tag_key(tag) in self._ix.tags, path in self._ix.ranks

    async def _get(self, path: str) -> dict[str, Any]:
        rank = self._ix.ranks.get(path)
        if rank is None:
            raise FileNotIndexed(path)
        return self._file(rank)

    async def _details(self, path: str) -> Sequence[Any] | None:
        return self._ix.details.get(self._ix.ranks.get(path, -1))  # ranks start at 0

    async def lookup(self, paths: Collection[str]) -> list[dict[str, Any]]:
        ranks = self._ix.ranks
        found = {rank for path in paths if (rank := ranks.get(path)) is not None}
        return [self._file(rank) for rank in sorted(found)]

    async def covers(self) -> dict[str, dict[str, Any]]:
        return {tag.name: self._file(tag.taken[-1]) for tag in self._ix.tags.values()
                if tag.count}

    async def folder_names(self) -> tuple[frozenset[str], frozenset[str]]:
        return self._ix.folders

    async def months(self, tag: str) -> list[tuple[int, int]]:
        return list(self._find_tag(tag).months)

    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        found = self._find_tag(tag)
        picked = []
        for draw in draws:
            position = int(draw * found.count)  # truncates toward zero, as SQLite's CAST
            if 0 <= position < len(found.members):
                picked.append(self._file(found.members[position]))
        return picked

    async def _search(self, words: list[str], limit: int, tag: str) -> list[dict[str, Any]]:
        # Off the event loop: intersecting postings costs what the words match
        # (95 ms for common words at 1M files), and other requests must not wait.
        return await asyncio.to_thread(self._search_now, words, limit, tag)

    def _search_now(self, words: list[str], limit: int, tag: str) -> list[dict[str, Any]]:
        ix = self._ix
        within = self._find_tag(tag)
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
        if tag_key(tag) != ALL_KEY:
            matches &= set(within.members)
        return [self._file(rank) for rank in sorted(matches)[:limit]]


def _taken_position(tag: _Tag, rank: int, times: array) -> int | None:
    """Where ``rank`` stands in the tag's oldest-first order, if it is there."""
    i = bisect.bisect_left(tag.taken, (times[rank], rank), key=lambda r: (times[r], r))
    return i if i < len(tag.taken) and tag.taken[i] == rank else None


def _position(tag: _Tag, rank: int) -> int | None:
    members = tag.members
    i = bisect.bisect_left(members, rank)
    return i if i < len(members) and members[i] == rank else None
