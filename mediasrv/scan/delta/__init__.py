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

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ...index import dateorder, filerows, months, words
from ...index.filerows import Probed, file_row, insert_files, tag_names
from ...index.tagruns import Run, merged, with_starts
from ...names import (
    ALL_KEY,
    db_text,
    folder_tags,
    from_db,
    name_only_words,
    search_words,
    tag_keys,
    tags_of,
)
from ...natural import natural_key
from ..fallback import NeedFullBuild
from .order import Key, Keys, new_ids, spliced
from .plan import Plan, plan
from .spellings import write_spellings

__all__ = ["Applied", "Plan", "apply", "copy_file", "plan"]

log = logging.getLogger(__name__)

_FICLONE = 0x40049409  # linux/fs.h: share the source's blocks (btrfs, XFS)


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
    keys = Keys(conn, touched)
    tag_ids = {key: i for i, key in conn.execute("SELECT id, key FROM tags")}
    now = _probed_now(the_plan, probed)

    # Which tags (keys) hold a file of a touched folder, before or after, and its new members.
    elements: dict[str, list[tuple[Key, Run]]] = {}
    affected: set[str] = {ALL_KEY}
    for fp in the_plan.folders.values():
        for f in fp.old:
            affected.update(tag_keys(tags_of(f.path, tag_names(f.probed))))
        base = tag_keys(folder_tags(fp.path))
        folder_id = folder_of[fp.path]
        for pos, rec in enumerate(fp.new):
            key = natural_key(rec.path)
            extra = tag_names(now[rec.path])  # a song's artist, album, genre
            own = tag_keys(tags_of(rec.path, extra)) if extra or "[" in rec.name else base
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
        new_runs[tag] = spliced(kept, mine, keys)

    ids = new_ids(the_plan, new_runs[ALL_KEY], folder_of, keys)
    _write_files(conn, the_plan, folder_of, touched_old, ids, now)
    had_tags = dict(tag_ids)
    for tag in affected:
        runs = merged(new_runs[tag])
        _write_runs(conn, tag, tag_ids, old_runs[tag], runs)
    write_spellings(conn, the_plan, tag_ids, now)
    _write_taken(conn, the_plan, folder_of, had_tags, tag_ids, now)
    files = conn.execute("SELECT file_count FROM tags WHERE key = ?", (ALL_KEY,)).fetchone()[0]
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


def _probed_now(the_plan: Plan, probed: Mapping[str, Probed]) -> dict[str, Probed | None]:
    """What is known of each file of a touched folder: just probed, or kept when unchanged."""
    now: dict[str, Probed | None] = {}
    changed = {r.path for r in the_plan.changed}
    for fp in the_plan.folders.values():
        kept = {f.path: f.probed for f in fp.old}
        for rec in fp.new:
            extra = probed.get(rec.path)
            if extra is None and rec.path in kept and rec.path not in changed:
                extra = kept[rec.path]
            now[rec.path] = None if extra == Probed() else extra
    return now


def _write_files(
    conn: sqlite3.Connection, the_plan: Plan, folder_of: dict[str, int], touched_old: set[int],
    ids: dict[str, int], now: Mapping[str, Probed | None],
) -> None:
    for folder_id in touched_old:
        filerows.delete_contents(conn, folder_id)
        conn.execute("DELETE FROM files WHERE folder_id = ?", (folder_id,))
    rows = []
    removed = {f.path for f in the_plan.removed}
    for fp in the_plan.folders.values():
        folder_id = folder_of[fp.path]
        for pos, rec in enumerate(fp.new):
            rows.append(file_row(ids[rec.path], folder_id, pos, rec.path, now[rec.path],
                                 rec.size, rec.mtime_ns))
    insert_files(conn, rows)
    filerows.insert_contents(conn, [(ids[path], extra) for path, extra in now.items()
                                    if extra is not None])
    gone = [(fp.old_id, f) for fp in the_plan.folders.values() for f in fp.old
            if f.path in removed]
    dropped = [(folder_id, word, f.id) for folder_id, f in gone
               for word in name_only_words(f.path)]
    conn.executemany(
        "DELETE FROM name_words WHERE folder_id = ? AND word = ? AND file_id = ?", dropped)
    added = [(folder_of[r.path.rpartition("/")[0]], word, ids[r.path])
             for r in the_plan.added for word in name_only_words(r.path)]
    conn.executemany("INSERT INTO name_words VALUES (?, ?, ?)", added)
    conn.executemany(
        "UPDATE folders SET first_id = ? WHERE id = ?",
        ((ids[fp.new[0].path], folder_of[fp.path]) for fp in the_plan.folders.values()
         if fp.new),
    )
    words.update(conn, ((folder_of[fp.path], fp.path, [(f.path, f.id) for f in fp.old],
                         [(r.path, ids[r.path]) for r in fp.new])
                        for fp in the_plan.folders.values()),
                 (r.path for r in the_plan.added), removed)


def _write_taken(
    conn: sqlite3.Connection, the_plan: Plan, folder_of: dict[str, int],
    had_tags: dict[str, int], tag_ids: dict[str, int], now: Mapping[str, Probed | None],
) -> None:
    """The ``sort=taken`` chunks and months of every tag a touched folder's files were or are
    in.

    Each tag loses the keys (time, id) its files had and gains the ones they
    have now; a file that kept its id, time and tags costs nothing.
    """
    before: dict[str, set[dateorder.Key]] = {}
    after: dict[str, set[dateorder.Key]] = {}
    for fp in the_plan.folders.values():
        for f in fp.old:
            key = (dateorder.sort_time(f.probed.taken_ns, f.mtime_ns), f.id)
            for tag in tag_keys(tags_of(f.path, tag_names(f.probed))):
                before.setdefault(tag, set()).add(key)
        if fp.new:
            for file_id, time, raw in conn.execute(
                "SELECT id, coalesce(taken_ns, mtime_ns), coalesce(path_bytes, path)"
                " FROM files WHERE folder_id = ?", (folder_of[fp.path],)
            ):
                path = from_db(raw)
                for tag in tag_keys(tags_of(path, tag_names(now[path]))):
                    after.setdefault(tag, set()).add((time, file_id))
    live = {key for (key,) in conn.execute("SELECT key FROM tags")}
    if not months.same_zone(conn):  # its months were cut in another time zone
        raise NeedFullBuild(f"the local time zone is now {months.zone()}")
    for tag, tag_id in had_tags.items():  # first: a new tag may take a dropped one's id
        if tag not in live:
            dateorder.drop(conn, tag_id)
            months.drop(conn, tag_id)
    try:
        for tag in sorted(before.keys() | after.keys()):
            old, new = before.get(tag, set()), after.get(tag, set())
            if tag in live and old != new:
                gone, came = sorted(old - new), sorted(new - old)
                dateorder.update(conn, tag_ids[tag], gone, came)
                months.update(conn, tag_ids[tag], gone, came)
    except LookupError as exc:  # the chunks disagree with the files: build it whole
        raise NeedFullBuild(f"sort=taken chunks or months: {exc}") from exc


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
        # Named by its key until _write_spellings picks the shown spelling.
        conn.execute("INSERT INTO tags (id, name, name_bytes, file_count, key)"
                     " VALUES (?, ?, NULL, ?, ?)", (tag_id, tag, total, tag))
        tag_ids[tag] = tag_id
    elif not runs and tag != ALL_KEY:
        conn.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
        conn.execute("DELETE FROM tag_spellings WHERE tag_id = ?", (tag_id,))
        del tag_ids[tag]  # a new tag may take its id
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
