"""A rescan of the whole tree at the cost of the walk: each folder compared as bytes.

The hourly backstop nearly always finds nothing new. The walkers
(``walkshare.py``, both cores) send each folder's files as one sorted,
marshal-ed list; meanwhile this process reads the current generation's files
in one query and makes the same bytes of each folder (sorted in C, marshal-ed
in C). An unchanged folder is then one bytes comparison: no Python per file,
no Record per file, no list of every file. Only a folder that differs is
decoded and looked at file by file (``compare.differing``), and every record
is decoded only when the change is too big for a delta (the full build
needs them all: an unchanged folder's files are its current rows).

The server's scan process lives on between scans: after a rescan that
found nothing new it keeps the bytes of the generation it compared with
(``_kept``, about 50 bytes a file), so the next rescan of the same
generation (the hourly backstop, nearly always) reads nothing at all. A
published generation is never written again (a delta is a new file), so
its path, number and inode name its rows for good.
"""

from __future__ import annotations

import functools
import itertools
import logging
import marshal
import operator
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..names import from_db
from .compare import Comparison, differing
from .walk import Record, WalkStats
from .walkshare import SharedWalk

log = logging.getLogger(__name__)

_make = functools.partial(tuple.__new__, Record)  # C calls only, no frame per file

Generation = tuple[str, int, int, int]  # path, number, st_ino, st_mtime_ns
_kept: dict[Generation, dict[str, bytes]] = {}  # the last generation found unchanged


def generation_of(path: Path, number: int) -> Generation:
    st = os.stat(path)
    return os.fspath(path), number, st.st_ino, st.st_mtime_ns


def old_listings(conn: sqlite3.Connection) -> dict[str, bytes]:
    """The current generation's files by folder, each folder as the walkers send it:
    ``marshal.dumps(sorted([(exact path, size, mtime_ns), ...]), 2)``."""
    folder_of = {
        fid: from_db(p)
        for fid, p in conn.execute("SELECT id, coalesce(path_bytes, path) FROM folders")
    }
    # A name that is not UTF-8 is stored shown with U+FFFD beside its bytes: the few
    # folders holding one are read again with the exact names.
    inexact = {
        fid
        for (fid,) in conn.execute(
            "SELECT DISTINCT folder_id FROM files WHERE path_bytes IS NOT NULL"
        )
    }
    take, dumps = operator.itemgetter(1, 2, 3), marshal.dumps
    out: dict[str, bytes] = {}
    rows = conn.execute("SELECT folder_id, path, size, mtime_ns FROM files")
    # Ids rise in natural order, so a folder's rows are (nearly always) one stretch.
    for fid, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        if fid in inexact:
            continue
        found = sorted(map(take, group))
        folder = folder_of[fid]
        if folder in out:  # a second stretch of the same folder
            found = sorted(marshal.loads(out[folder]) + found)
        out[folder] = dumps(found, 2)
    for fid in inexact:
        out[folder_of[fid]] = dumps(
            sorted(
                (from_db(p), size, mtime)
                for p, size, mtime in conn.execute(
                    "SELECT coalesce(path_bytes, path), size, mtime_ns FROM files"
                    " WHERE folder_id = ?",
                    (fid,),
                )
            ),
            2,
        )
    return out


def decode(rows: bytes) -> list[Record]:
    return list(map(_make, marshal.loads(rows)))


def walk_and_compare(
    conn: sqlite3.Connection,
    root: Path,
    *,
    exclude: list[Path],
    stats: WalkStats,
    progress: Callable[[WalkStats], None] | None = None,
    progress_every: float = 0.2,
    generation: Generation | None = None,
) -> tuple[Comparison, Callable[[], list[Record]]]:
    """Walk ``root`` (``walkshare.SharedWalk``) and compare it with the generation
    ``conn`` reads (``generation``: its name, to keep its rows when nothing changed);
    the comparison, and every record found (made when called).

    Raises ``walkshare.NeedOneWalker`` when the tree has a folder reachable twice.
    """
    with SharedWalk(root, exclude=exclude, stats=stats) as walk:
        old = _kept.get(generation) if generation is not None else None
        _kept.clear()
        if old is None:
            old = old_listings(conn)  # while the walkers walk
        unlisted = set(old)
        changed: dict[str, bytes] = {}
        for folder, rows in walk.folders(progress, progress_every):
            unlisted.discard(folder)
            if old.get(folder) != rows:
                changed[folder] = rows
    comparison = Comparison(conn)
    comparison.old = {}
    for folder, rows in changed.items():
        now, was = decode(rows), old.get(folder)
        if was is not None:
            comparison.listed[folder] = now
            comparison.differ += differing(marshal.loads(was), now)
        elif now:
            comparison.listed[folder] = now
            comparison.differ += len(now)
    for folder in unlisted:  # every folder the walk did not list holds no files now
        comparison.listed[folder] = []
        comparison.differ += len(marshal.loads(old[folder]))
    if comparison.same and generation is not None:
        _kept[generation] = old

    def records() -> list[Record]:
        found: list[Record] = []
        for folder, rows in old.items():
            if folder not in unlisted and folder not in changed:
                found += decode(rows)
        for rows in changed.values():
            found += decode(rows)
        return found

    return comparison, records
