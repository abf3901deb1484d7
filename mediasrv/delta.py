"""A delta build: the next generation made from the current one plus what changed.

The current generation file is copied (a reflink where the filesystem has
them, else ``copy_file_range``), the changed rows are written into the copy in
one transaction, and the copy is published like any build. What a change
costs is the size of the folders it touched plus a few rows per tag: files of
untouched folders keep their rows, and only the runs of the tags holding a
touched file are rewritten (from the first one that moved).

``plan`` compares the touched folders' new listings with the current
generation (read-only) and says what differs; ``apply`` writes it.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .builder import Probed, file_row, insert_files
from .names import (
    ALL_TAG,
    db_text,
    folder_tags,
    from_db,
    name_only_words,
    natural_key,
    search_words,
    tags_of,
)
from .runs import Run, merged, with_starts
from .scanner import Record

log = logging.getLogger(__name__)

# The step between the ids of new files appended one after another: leaves
# room for 255 appends in a row before halving the gaps (a full build
# renumbers when there is no room left).
NEW_ID_STEP = 1 << 8
_FICLONE = 0x40049409  # linux/fs.h: share the source's blocks (btrfs, XFS)

Key = tuple[str, str]


class NeedFullBuild(Exception):
    """This change cannot be applied as a delta; a full build is needed (the reason says why)."""


@dataclass
class OldFile:
    id: int
    pos: int
    path: str
    size: int
    mtime_ns: int
    probed: Probed


@dataclass
class FolderPlan:
    """One touched folder: what it held, what it holds now."""

    path: str
    old_id: int | None
    old: list[OldFile]
    new: list[Record]  # in natural order: index = new pos


@dataclass
class Plan:
    """What a delta build writes, worked out against the current generation."""

    folders: dict[str, FolderPlan]
    added: list[Record] = field(default_factory=list)
    removed: list[OldFile] = field(default_factory=list)
    changed: list[Record] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_probe(self) -> list[Record]:
        return [*self.added, *self.changed]


_FILE_COLUMNS = (
    "id, pos, coalesce(path_bytes, path), size, mtime_ns, width, height, duration, thumb_key"
)


def _old_files(conn: sqlite3.Connection, folder_id: int) -> list[OldFile]:
    return [
        OldFile(i, pos, from_db(path), size, mtime, Probed(w, h, d, t))
        for i, pos, path, size, mtime, w, h, d, t in conn.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE folder_id = ? ORDER BY pos", (folder_id,)
        )
    ]


def folder_ids(conn: sqlite3.Connection) -> dict[str, int]:
    """Every folder of the generation: exact path -> id."""
    return {from_db(p): i for i, p in conn.execute(
        "SELECT id, coalesce(path_bytes, path) FROM folders")}


def plan(conn: sqlite3.Connection, listings: Mapping[str, Iterable[Record]]) -> Plan:
    """Compare the new ``listings`` (folder -> its files now) with the generation on ``conn``."""
    known = folder_ids(conn)
    result = Plan({})
    for folder, records in listings.items():
        new = sorted(records, key=lambda r: natural_key(r.path))
        old_id = known.get(folder)
        old = _old_files(conn, old_id) if old_id is not None else []
        result.folders[folder] = FolderPlan(folder, old_id, old, new)
        before = {f.path: f for f in old}
        now = {r.path for r in new}
        for rec in new:
            was = before.get(rec.path)
            if was is None:
                result.added.append(rec)
            elif (was.size, was.mtime_ns) != (rec.size, rec.mtime_ns):
                result.changed.append(rec)
        result.removed.extend(f for f in old if f.path not in now)
    return result


def copy_file(source: Path, dest: Path) -> str:
    """Copy ``source`` to a new file ``dest``; returns how ("reflink" or "copy")."""
    with open(source, "rb") as src, open(dest, "xb") as dst:
        with contextlib.suppress(OSError):
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            return "reflink"
        size = os.fstat(src.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                n = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)
                if n == 0:
                    break
                copied += n
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            src.seek(copied)
            dst.seek(copied)
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        return "copy"


class _Keys:
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


def _spliced(kept: list[Run], elements: list[tuple[Key, Run]], keys: _Keys) -> list[Run]:
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

    def __init__(self, runs: list[Run], keys: _Keys, *, last: bool) -> None:
        self._runs = runs
        self._keys = keys
        self._last = last

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i: int) -> Key:
        run = self._runs[i]
        return self._keys.key(run.folder_id, run.end - 1 if self._last else run.first)


@dataclass
class Applied:
    files: int
    tags: int


def apply(
    conn: sqlite3.Connection, the_plan: Plan, probed: Mapping[str, Probed],
    write_meta: Callable[[sqlite3.Connection, tuple[int, int]], None],
) -> Applied:
    """Write ``the_plan`` into the copy on ``conn`` (one transaction); return the new counts."""
    conn.execute("BEGIN")
    folder_of = _write_folders(conn, the_plan)
    touched_old = {fp.old_id for fp in the_plan.folders.values() if fp.old_id is not None}
    touched: dict[tuple[int, int], str] = {}
    for fp in the_plan.folders.values():
        for pos, rec in enumerate(fp.new):
            touched[(folder_of[fp.path], pos)] = rec.path
    keys = _Keys(conn, touched)
    tag_ids = {from_db(n): i for i, n in conn.execute(
        "SELECT id, coalesce(name_bytes, name) FROM tags")}

    # Which tags hold a file of a touched folder, before or after, and its new members.
    elements: dict[str, list[tuple[Key, Run]]] = {}
    affected: set[str] = {ALL_TAG}
    for fp in the_plan.folders.values():
        for f in fp.old:
            affected.update(tags_of(f.path))
        base = folder_tags(fp.path)
        folder_id = folder_of[fp.path]
        for pos, rec in enumerate(fp.new):
            key = natural_key(rec.path)
            own = tags_of(rec.path) if "[" in rec.path.rpartition("/")[2] else base
            for tag in own:
                elements.setdefault(tag, []).append((key, Run(folder_id, pos, 1)))
    affected.update(elements)

    new_runs: dict[str, list[Run]] = {}
    old_runs: dict[str, list[tuple[int, int, int, int]]] = {}
    for tag in affected:
        tag_id = tag_ids.get(tag)
        old = [] if tag_id is None else conn.execute(
            "SELECT start, folder_id, first, count FROM tag_runs WHERE tag_id = ?"
            " ORDER BY start", (tag_id,)).fetchall()
        old_runs[tag] = old
        kept = [Run(f, first, n) for _, f, first, n in old if f not in touched_old]
        mine = sorted(elements.get(tag, ()), key=lambda e: e[0])
        new_runs[tag] = _spliced(kept, mine, keys)

    ids = _new_ids(the_plan, new_runs[ALL_TAG], folder_of, keys)
    _write_files(conn, the_plan, folder_of, touched_old, ids, probed)
    for tag in affected:
        runs = merged(new_runs[tag])
        _write_runs(conn, tag, tag_ids, old_runs[tag], runs)
    files = conn.execute("SELECT file_count FROM tags WHERE name = ? AND name_bytes IS NULL",
                         (ALL_TAG,)).fetchone()[0]
    tags = conn.execute("SELECT count(*) FROM tags").fetchone()[0]
    write_meta(conn, (files, tags))
    conn.execute("COMMIT")
    return Applied(files, tags)


def _write_folders(conn: sqlite3.Connection, the_plan: Plan) -> dict[str, int]:
    """Rows of the touched folders; returns each one's id (new folders get new ids)."""
    next_id = (conn.execute("SELECT max(id) FROM folders").fetchone()[0] or 0) + 1
    folder_of: dict[str, int] = {}
    for fp in the_plan.folders.values():
        if fp.old_id is None:
            folder_of[fp.path] = next_id
            next_id += 1
            if fp.new:  # first_id is set once the files have ids
                conn.execute("INSERT INTO folders VALUES (?, ?, ?, ?, 0)",
                             (folder_of[fp.path], *db_text(fp.path), len(fp.new)))
                conn.executemany("INSERT INTO folder_words VALUES (?, ?)",
                                 ((w, folder_of[fp.path]) for w in search_words(fp.path)))
        else:
            folder_of[fp.path] = fp.old_id
            if fp.new:
                conn.execute("UPDATE folders SET file_count = ? WHERE id = ?",
                             (len(fp.new), fp.old_id))
            else:
                conn.execute("DELETE FROM folders WHERE id = ?", (fp.old_id,))
                conn.executemany("DELETE FROM folder_words WHERE word = ? AND folder_id = ?",
                                 ((w, fp.old_id) for w in search_words(fp.path)))
    return folder_of


def _new_ids(
    the_plan: Plan, all_pieces: list[Run], folder_of: dict[str, int], keys: _Keys
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


def _write_files(
    conn: sqlite3.Connection, the_plan: Plan, folder_of: dict[str, int], touched_old: set[int],
    ids: dict[str, int], probed: Mapping[str, Probed],
) -> None:
    for folder_id in touched_old:
        conn.execute("DELETE FROM files WHERE folder_id = ?", (folder_id,))
    rows = []
    changed = {r.path for r in the_plan.changed}
    removed = {f.path for f in the_plan.removed}
    for fp in the_plan.folders.values():
        kept = {f.path: f.probed for f in fp.old}
        folder_id = folder_of[fp.path]
        for pos, rec in enumerate(fp.new):
            extra = probed.get(rec.path)
            if extra is None and rec.path in kept and rec.path not in changed:
                extra = kept[rec.path]
            if extra == Probed():
                extra = None
            rows.append(file_row(ids[rec.path], folder_id, pos, rec.path, extra, rec.size,
                                 rec.mtime_ns))
    insert_files(conn, rows)
    gone = [(fp.old_id, f) for fp in the_plan.folders.values() for f in fp.old
            if f.path in removed]
    dropped = [(folder_id, word, f.id) for folder_id, f in gone
               for word in name_only_words(f.path)]
    conn.executemany(
        "DELETE FROM name_words WHERE folder_id = ? AND word = ? AND file_id = ?", dropped)
    conn.executemany(
        "UPDATE name_word_folders SET files = files - 1 WHERE word = ? AND folder_id = ?",
        ((word, folder_id) for folder_id, word, _ in dropped))
    conn.executemany(
        "DELETE FROM name_word_folders WHERE word = ? AND folder_id = ? AND files = 0",
        ((word, folder_id) for folder_id, word, _ in dropped))
    added = [(folder_of[r.path.rpartition("/")[0]], word, ids[r.path])
             for r in the_plan.added for word in name_only_words(r.path)]
    conn.executemany("INSERT INTO name_words VALUES (?, ?, ?)", added)
    conn.executemany(
        "INSERT INTO name_word_folders VALUES (?, ?, 1) ON CONFLICT (word, folder_id)"
        " DO UPDATE SET files = files + 1", ((word, folder_id) for folder_id, word, _ in added))
    conn.executemany(
        "UPDATE folders SET first_id = ? WHERE id = ?",
        ((ids[fp.new[0].path], folder_of[fp.path]) for fp in the_plan.folders.values()
         if fp.new),
    )


def _write_runs(
    conn: sqlite3.Connection, tag: str, tag_ids: dict[str, int],
    old: list[tuple[int, int, int, int]], runs: list[Run],
) -> None:
    """Rewrite a tag's runs from the first one that differs; add or drop the tag itself."""
    total = sum(r.length for r in runs)
    tag_id = tag_ids.get(tag)
    if tag_id is None:
        if not runs:
            return
        tag_id = (conn.execute("SELECT max(id) FROM tags").fetchone()[0] or 0) + 1
        conn.execute("INSERT INTO tags VALUES (?, ?, ?, ?)", (tag_id, *db_text(tag), total))
        tag_ids[tag] = tag_id
    elif not runs and tag != ALL_TAG:
        conn.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
    else:
        conn.execute("UPDATE tags SET file_count = ? WHERE id = ?", (total, tag_id))
    new = list(with_starts(runs))
    same = 0
    while same < min(len(old), len(new)) and tuple(old[same]) == new[same]:
        same += 1
    if same < len(old):
        conn.execute("DELETE FROM tag_runs WHERE tag_id = ? AND start >= ?",
                     (tag_id, old[same][0]))
    conn.executemany("INSERT INTO tag_runs VALUES (?, ?, ?, ?, ?)",
                     ((tag_id, *run) for run in new[same:]))
