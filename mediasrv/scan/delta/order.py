"""Where new files go: natural sort keys, runs spliced by key, and ids between neighbours."""

from __future__ import annotations

import bisect
import sqlite3

from ...index.tagruns import Run
from ...names import from_db
from ...natural import natural_key
from ..fallback import NeedFullBuild
from .plan import FolderPlan, Plan

# The step between the ids of new files appended one after another: leaves
# room for 255 appends in a row before halving the gaps (a full build
# renumbers when there is no room left).
NEW_ID_STEP = 1 << 8

Key = tuple[str, str]


class Keys:
    """Natural sort keys and ids of files by (folder_id, pos), looked up only when needed.

    Files of touched folders are known from the plan (their new places);
    every other folder is unchanged, so its files are read from the
    generation being copied.
    """

    def __init__(self, conn: sqlite3.Connection, touched: dict[tuple[int, int], str]) -> None:
        self._conn = conn
        self._touched = touched
        self._keys: dict[tuple[int, int], Key] = {}

    def _row(self, folder_id: int, pos: int) -> tuple[int, str]:
        file_id, raw = self._conn.execute(
            "SELECT id, coalesce(path_bytes, path) FROM files WHERE folder_id = ? AND pos = ?",
            (folder_id, pos)).fetchone()
        return file_id, from_db(raw)

    def key(self, folder_id: int, pos: int) -> Key:
        found = self._keys.get((folder_id, pos))
        if found is None:
            path = self._touched.get((folder_id, pos)) or self._row(folder_id, pos)[1]
            found = self._keys[(folder_id, pos)] = natural_key(path)
        return found

    def file_id(self, folder_id: int, pos: int) -> int:
        """The id of a file of an untouched folder."""
        return self._row(folder_id, pos)[0]


def spliced(kept: list[Run], elements: list[tuple[Key, Run]], keys: Keys) -> list[Run]:
    """``kept`` runs (in order) with the single-file ``elements`` (sorted) put in place.

    An element may fall between two runs or inside one (a new folder whose
    files sort between two files of a run of its parent): the run is split
    there. Keys are looked up for O(log n) runs per element.
    """
    firsts = _LazyKeys(kept, keys, last=False)
    # (run index, pos in that run before which it goes) for each element
    places: list[tuple[int, int, Key, Run]] = []
    for key, element in elements:
        i = bisect.bisect_right(firsts, key)  # runs before i start before the element
        j = i - 1
        if j >= 0 and kept[j].length > 1 and key < keys.key(kept[j].folder_id, kept[j].end - 1):
            run = kept[j]
            lo, hi = run.first + 1, run.end - 1  # the first pos whose key is greater
            while lo < hi:
                mid = (lo + hi) // 2
                if keys.key(run.folder_id, mid) < key:
                    lo = mid + 1
                else:
                    hi = mid
            places.append((j, lo, key, element))
        else:
            places.append((i, kept[i].first if i < len(kept) else 0, key, element))
    places.sort(key=lambda p: (p[0], p[1], p[2]))
    out: list[Run] = []
    at = 0
    runs: list[Run | None] = [*kept, None]  # None: after the last run
    for index, current in enumerate(runs):
        cut = current.first if current is not None else 0
        while at < len(places) and places[at][0] == index:
            _, pos, _, element = places[at]
            if current is not None and pos > cut:
                out.append(Run(current.folder_id, cut, pos - cut))
                cut = pos
            out.append(element)
            at += 1
        if current is not None and cut < current.end:
            out.append(Run(current.folder_id, cut, current.end - cut))
    return out


class _LazyKeys:
    """A sequence view of the runs' first (or last) file keys, for bisect."""

    def __init__(self, runs: list[Run], keys: Keys, *, last: bool) -> None:
        self._runs = runs
        self._keys = keys
        self._last = last

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i: int) -> Key:
        run = self._runs[i]
        return self._keys.key(run.folder_id, run.end - 1 if self._last else run.first)


def new_ids(
    the_plan: Plan, all_pieces: list[Run], folder_of: dict[str, int], keys: Keys
) -> dict[str, int]:
    """An id for every file of a touched folder, kept where it had one.

    New files get ids between the files around them in natural order, so
    ORDER BY id stays the library's order without renumbering anyone.
    """
    ids: dict[str, int] = {}
    existing: dict[tuple[int, int], int] = {}
    for fp in the_plan.folders.values():
        had = {f.path: f.id for f in fp.old}
        for pos, rec in enumerate(fp.new):
            if rec.path in had:
                existing[(folder_of[fp.path], pos)] = had[rec.path]
    by_id = {folder_of[fp.path]: fp for fp in the_plan.folders.values()}
    touched_ids = set(by_id)

    def id_at(folder_id: int, pos: int) -> int:
        if folder_id in touched_ids:
            return existing[(folder_id, pos)]
        return keys.file_id(folder_id, pos)

    # Walk All in order; give each stretch of new files ids between the known
    # ids around it (looked up only there).
    waiting: list[tuple[int, int]] = []
    previous: Run | None = None
    for piece in all_pieces:
        if piece.folder_id in touched_ids and (piece.folder_id, piece.first) not in existing:
            waiting.append((piece.folder_id, piece.first))  # a new file: a piece of one
            continue
        if waiting:
            before = 0 if previous is None else id_at(previous.folder_id, previous.end - 1)
            _allocate(waiting, before, id_at(piece.folder_id, piece.first), ids, by_id)
            waiting = []
        previous = piece
    if waiting:
        before = 0 if previous is None else id_at(previous.folder_id, previous.end - 1)
        _allocate(waiting, before, None, ids, by_id)
    for (folder_id, pos), file_id in existing.items():
        ids[by_id[folder_id].new[pos].path] = file_id
    return ids


def _allocate(
    waiting: list[tuple[int, int]], before: int, after: int | None, ids: dict[str, int],
    by_id: dict[int, FolderPlan],
) -> None:
    k = len(waiting)
    step = NEW_ID_STEP if after is None else min((after - before) // (k + 1), NEW_ID_STEP)
    if step < 1:
        raise NeedFullBuild(f"no room for {k} new file ids between {before} and {after}")
    for n, (folder_id, pos) in enumerate(waiting, start=1):
        ids[by_id[folder_id].new[pos].path] = before + n * step


