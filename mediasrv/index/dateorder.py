"""The ``sort=taken`` order: each tag's files by the time they were taken, in chunks.

A file sorts by ``coalesce(taken_ns, mtime_ns)`` and then by id (natural
order), oldest first; the API's newest-first order is the exact reverse. Each
tag's files in that order are cut into chunks of ids (``tag_taken``, see
migrations/0004_taken.sql): a page is a chunk lookup and a slice, and a
change rewrites only the chunks its files fall in.

A full build cuts every tag into chunks of ``CHUNK``. A delta build takes the
files of the touched folders out of their chunks and puts the new ones in,
splits a chunk that grew past twice ``CHUNK``, drops one that emptied and
shifts the starts of the chunks after; so chunk boundaries depend on history,
while the order they spell is always the one a full build gives.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence

from ..names import ALL_KEY
from . import months

# Files per chunk from a full build: a page reads one or two chunks (~6 KB of
# JSON each at a million files), and a change shifts the starts of at most
# files/CHUNK chunks of a tag.
CHUNK = 512

Key = tuple[int, int]  # (time it sorts by, file id)


def sort_time(taken_ns: int | None, mtime_ns: int) -> int:
    """When a file was taken, as the order has it: its stated time, else its mtime."""
    return mtime_ns if taken_ns is None else taken_ns


def tag_orders(
    files: Iterable[tuple[int, int, int]], folder_tags: Mapping[int, Sequence[str]],
    extra_tags: Mapping[int, Sequence[str]],
) -> dict[str, list[Key]]:
    """Each tag's files, oldest first, from (time, id, folder id) of every file, in that order.

    ``folder_tags`` are the tags (``tag_key``s) of each folder's files (``All`` among them),
    ``extra_tags`` those a file's name adds (bracket tags) by file id. The
    caller sorts the library (SQLite does, in C); each file joins its tags'
    lists in order.
    """
    orders: dict[str, list[Key]] = {ALL_KEY: []}
    lists_of: dict[int, list[list[Key]]] = {}  # folder id -> its tags' lists
    for time, file_id, folder_id in files:
        key = (time, file_id)
        lists = lists_of.get(folder_id)
        if lists is None:
            lists = lists_of[folder_id] = [orders.setdefault(t, []) for t in folder_tags[folder_id]]
        for found in lists:
            found.append(key)
        if extra_tags:
            for tag in extra_tags.get(file_id, ()):
                orders.setdefault(tag, []).append(key)
    return orders


def chunk_rows(
    tag_id: int, keys: Sequence[Key], start: int = 0, size: int | None = None,
) -> Iterator[tuple[int, int, int, int, int, str]]:
    """``tag_taken`` rows for ``keys`` (in order) cut every ``size`` (CHUNK), from ``start``."""
    size = size or CHUNK
    for at in range(0, len(keys), size):
        piece = keys[at:at + size]
        yield _row(tag_id, start + at, piece)


def _row(tag_id: int, start: int, piece: Sequence[Key]) -> tuple[int, int, int, int, int, str]:
    first = piece[0]
    return (tag_id, start, first[0], first[1], len(piece),
            json.dumps([file_id for _, file_id in piece], separators=(",", ":")))


INSERT = "INSERT INTO tag_taken VALUES (?, ?, ?, ?, ?, ?)"


def write_all(conn: sqlite3.Connection, tag_ids: Mapping[str, int],
              orders: Mapping[str, list[Key]]) -> None:
    """Every tag's chunks, for a full build (inside the caller's transaction)."""
    conn.executemany(INSERT, (row for tag, keys in orders.items()
                              for row in chunk_rows(tag_ids[tag], keys)))


class _Filling:
    """A tag's chunk being filled by ``write_sorted``, and what its full ones held."""

    __slots__ = ("keys", "months", "start", "tag_id")

    def __init__(self, tag_id: int) -> None:
        self.tag_id = tag_id
        self.keys: list[Key] = []
        self.start = 0
        self.months: dict[int, int] = {}


def write_sorted(
    conn: sqlite3.Connection, tag_ids: Mapping[str, int], files: Iterable[tuple[int, int, int]],
    folder_tags: Mapping[int, Sequence[str]], extra_tags: Mapping[int, Sequence[str]],
) -> None:
    """Every tag's chunks and months from (time, id, folder id) of every file, in that order
    (a full build, inside the caller's transaction): what ``tag_orders``, ``write_all`` and
    ``months.write_all`` write, holding one chunk per tag instead of every tag's list.

    At a million files the lists held 1M keys for ``All`` alone and as many again
    for each folder tag: ~70 MB of the build's peak. A month's files are counted
    chunk by chunk (``months.counts``), the same counts as over the whole list.
    """
    filling: dict[str, _Filling] = {}
    rows: list[tuple[int, int, int, int, int, str]] = []

    def tag(name: str) -> _Filling:
        found = filling.get(name)
        if found is None:
            found = filling[name] = _Filling(tag_ids[name])
        return found

    def cut(chunk: _Filling) -> None:
        rows.append(_row(chunk.tag_id, chunk.start, chunk.keys))
        for month, n in months.counts(chunk.keys).items():
            chunk.months[month] = chunk.months.get(month, 0) + n
        chunk.start += len(chunk.keys)
        chunk.keys = []
        if len(rows) >= 256:
            conn.executemany(INSERT, rows)
            rows.clear()

    tag(ALL_KEY)
    lists_of: dict[int, list[_Filling]] = {}  # folder id -> its tags' chunks
    for time, file_id, folder_id in files:
        key = (time, file_id)
        lists = lists_of.get(folder_id)
        if lists is None:
            lists = lists_of[folder_id] = [tag(t) for t in folder_tags[folder_id]]
        for chunk in lists:
            chunk.keys.append(key)
            if len(chunk.keys) == CHUNK:
                cut(chunk)
        if extra_tags:
            for name in extra_tags.get(file_id, ()):
                chunk = tag(name)
                chunk.keys.append(key)
                if len(chunk.keys) == CHUNK:
                    cut(chunk)
    for chunk in filling.values():
        if chunk.keys:
            cut(chunk)
    conn.executemany(INSERT, rows)
    conn.executemany(months.INSERT, ((chunk.tag_id, month, n) for chunk in filling.values()
                                     for month, n in chunk.months.items()))


class _Chunk:
    """One chunk of a tag as a delta build sees it: read lazily, rewritten when touched."""

    __slots__ = ("count", "first", "keys", "start")

    def __init__(self, start: int, first: Key, count: int) -> None:
        self.start = start
        self.first = first
        self.count = count
        self.keys: list[Key] | None = None  # None: untouched, never read


def update(
    conn: sqlite3.Connection, tag_id: int, removed: Iterable[Key], added: Iterable[Key],
) -> None:
    """Take ``removed`` out of a tag's chunks and put ``added`` in (a delta build).

    Call it after the ``files`` rows are written: the times of the files a
    touched chunk keeps are read from there, and ``removed`` keys are the
    files' keys before the change.
    """
    chunks = [_Chunk(start, (taken, file_id), count) for start, taken, file_id, count in
              conn.execute("SELECT start, taken, file_id, count FROM tag_taken"
                           " WHERE tag_id = ? ORDER BY start", (tag_id,))]
    firsts = [c.first for c in chunks]
    gone: dict[int, set[int]] = {}
    for key in removed:
        at = bisect.bisect_right(firsts, key) - 1
        if at < 0:
            raise LookupError(f"tag {tag_id}: file {key[1]} is in no chunk")
        gone.setdefault(at, set()).add(key[1])
    coming: dict[int, list[Key]] = {}
    for key in added:
        coming.setdefault(max(bisect.bisect_right(firsts, key) - 1, 0), []).append(key)
    if not chunks and coming:  # a new tag
        chunks.append(_Chunk(0, min(coming[0]), 0))
        chunks[0].keys = []
    for at in sorted(gone.keys() | coming.keys()):
        chunk = chunks[at]
        if chunk.keys is None:
            chunk.keys = _read_keys(conn, tag_id, chunk.start, gone.get(at, set()))
        for key in coming.get(at, ()):
            bisect.insort(chunk.keys, key)
    _rewrite(conn, tag_id, chunks)


def _read_keys(conn: sqlite3.Connection, tag_id: int, start: int, gone: set[int]) -> list[Key]:
    """The keys of a chunk's files, less ``gone``, in order (times from ``files``)."""
    (raw,) = conn.execute("SELECT files FROM tag_taken WHERE tag_id = ? AND start = ?",
                          (tag_id, start)).fetchone()
    ids = json.loads(raw)
    if not gone <= set(ids):
        raise LookupError(f"tag {tag_id}: files {sorted(gone - set(ids))} not in their chunk")
    kept = [i for i in ids if i not in gone]
    times = dict(conn.execute(
        "SELECT id, coalesce(taken_ns, mtime_ns) FROM files"
        " WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(kept),)))
    if len(times) != len(kept):
        raise LookupError(f"tag {tag_id}: a file of the chunk at {start} has no row")
    return [(times[i], i) for i in kept]


def _rewrite(conn: sqlite3.Connection, tag_id: int, chunks: list[_Chunk]) -> None:
    """Write the touched chunks again (split or dropped as needed) and shift the others."""
    touched = [c for c in chunks if c.keys is not None]
    if not touched:
        return
    conn.executemany("DELETE FROM tag_taken WHERE tag_id = ? AND start = ?",
                     ((tag_id, c.start) for c in touched if c.count))
    rows: list[tuple[int, int, int, int, int, str]] = []
    moved: list[tuple[int, int, int]] = []
    start = 0
    for chunk in chunks:
        if chunk.keys is None:
            if chunk.start != start:
                moved.append((-1 - start, tag_id, chunk.start))
            start += chunk.count
            continue
        # Halves of about CHUNK when it grew past twice that: never a sliver.
        pieces = max(1, len(chunk.keys) // CHUNK) if len(chunk.keys) > 2 * CHUNK else 1
        size = max(1, -(-len(chunk.keys) // pieces))
        rows.extend(chunk_rows(tag_id, chunk.keys, start, size))
        start += len(chunk.keys)
    # Starts are the primary key: move them through negative numbers, so no
    # two rows ever hold one start on the way.
    conn.executemany("UPDATE tag_taken SET start = ? WHERE tag_id = ? AND start = ?", moved)
    conn.execute("UPDATE tag_taken SET start = -1 - start WHERE tag_id = ? AND start < 0",
                 (tag_id,))
    conn.executemany(INSERT, rows)


def drop(conn: sqlite3.Connection, tag_id: int) -> None:
    """Every chunk of a tag that no longer exists."""
    conn.execute("DELETE FROM tag_taken WHERE tag_id = ?", (tag_id,))
