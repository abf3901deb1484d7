"""What a generation says, by exact names instead of internal ids (delta == full tests)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from mediasrv.index import months
from mediasrv.index.cachedir import CacheDir
from mediasrv.names import from_db
from mediasrv.scan import fullbuild
from mediasrv.scan.job import run_scan
from mediasrv.scan.staging import Staged
from mediasrv.scan.walk import Record


def content(db_path: Path) -> dict[str, Any]:
    """Everything a generation says, by exact names instead of internal ids."""
    conn = sqlite3.connect(db_path)
    try:
        folder = {i: from_db(p) for i, p in conn.execute(
            "SELECT id, coalesce(path_bytes, path) FROM folders")}
        tag = {i: from_db(n) for i, n in conn.execute(
            "SELECT id, coalesce(name_bytes, name) FROM tags")}
        files = conn.execute(
            "SELECT coalesce(path_bytes, path), folder_id, pos, path, name, ext, kind, size,"
            " mtime_ns, width, height, duration, thumb_key, id FROM files ORDER BY id").fetchall()
        path_of = {row[-1]: from_db(row[0]) for row in files}
        return {
            "order": [from_db(r[0]) for r in files],  # ORDER BY id is natural order
            "files": sorted((from_db(r[0]), folder[r[1]], *r[2:-1]) for r in files),
            "folders": sorted((from_db(p), n, path_of[first]) for p, n, first in conn.execute(
                "SELECT coalesce(path_bytes, path), file_count, first_id FROM folders")),
            "folder_words": sorted((w, folder[i]) for w, i in conn.execute(
                "SELECT word, folder_id FROM folder_words")),
            "name_words": sorted((folder[d], w, path_of[i]) for d, w, i in conn.execute(
                "SELECT folder_id, word, file_id FROM name_words")),
            "word_folders": word_folders(conn, folder, path_of),
            "tags": sorted((from_db(n), k, c) for n, k, c in conn.execute(
                "SELECT coalesce(name_bytes, name), key, file_count FROM tags")),
            "spellings": sorted((tag[t], from_db(n), c) for t, n, c in conn.execute(
                "SELECT tag_id, coalesce(name_bytes, name), file_count FROM tag_spellings")),
            "runs": sorted((tag[t], s, folder[f], first, n) for t, s, f, first, n in conn.execute(
                "SELECT tag_id, start, folder_id, first, count FROM tag_runs")),
            "words": sorted((w, path_of[i]) for w, i in conn.execute(
                "SELECT word, file_id FROM search_words")),
            "view": sorted(conn.execute("SELECT path, tag, position FROM file_tags_v").fetchall()),
            "details": sorted((path_of[r[0]], *r[1:]) for r in conn.execute(
                "SELECT * FROM file_details")),
            "audio": sorted((path_of[r[0]], *r[1:]) for r in conn.execute(
                "SELECT * FROM file_audio")),
            "taken": taken_order(conn, tag, path_of),
            "months": months_of(conn, tag),
        }
    finally:
        conn.close()


def word_folders(
    conn: sqlite3.Connection, folder: dict[int, str], path_of: dict[int, str]
) -> list[tuple[str, str, str, int]]:
    """(prefix, folder, its first file, in_path) of every word_folders row; each row's
    first_id must be a folder's."""
    by_first = {first: i for i, first in conn.execute("SELECT id, first_id FROM folders")}
    return sorted((prefix, folder[by_first[first_id]], path_of[first_id], in_path)
                  for prefix, first_id, in_path in conn.execute(
                      "SELECT prefix, first_id, in_path FROM word_folders"))


def months_of(conn: sqlite3.Connection, tag: dict[int, str]) -> dict[str, list[tuple[int, int]]]:
    """Each tag's months newest first, checked against its files' times, and the view's
    offsets against the sort=taken order."""
    found: dict[str, list[tuple[int, int]]] = {}
    for tag_id, month, count in conn.execute(
            "SELECT tag_id, month, count FROM tag_months ORDER BY tag_id, month DESC"):
        found.setdefault(tag[tag_id], []).append((month, count))
    for name in tag.values():
        if not name.isascii() and name.encode(errors="replace") != name.encode(
                errors="surrogateescape"):  # not UTF-8: the views show such names alike
            continue
        times = [t for (t,) in conn.execute(
            "SELECT sorted_by_ns FROM taken_order WHERE tag = ? ORDER BY position", (name,))]
        expected: dict[int, int] = {}
        for t in times:
            month = months.month_of(t)
            expected[month] = expected.get(month, 0) + 1
        assert found.get(name, []) == list(expected.items()), name  # newest first
        view = conn.execute('SELECT month, count, "offset" FROM tag_months_v WHERE tag = ?',
                            (name,)).fetchall()
        at = 0
        for (label, count, offset), (month, n) in zip(view, found.get(name, []), strict=True):
            assert (label, count, offset or 0) == (f"{month // 100}-{month % 100:02d}", n, at)
            assert months.month_of(times[at]) == month
            at += n
    return found


def taken_order(conn: sqlite3.Connection, tag: dict[int, str], path_of: dict[int, str],
                ) -> dict[str, list[str]]:
    """Each tag's files in the sort=taken order, checking the chunks that spell it."""
    time_of = dict(conn.execute("SELECT id, coalesce(taken_ns, mtime_ns) FROM files"))
    count_of = dict(conn.execute("SELECT id, file_count FROM tags"))
    orders: dict[int, list[int]] = {}
    for tag_id, start, first_time, first_id, count, files in conn.execute(
            "SELECT tag_id, start, taken, file_id, count, files FROM tag_taken"
            " ORDER BY tag_id, start"):
        ids = json.loads(files)
        order = orders.setdefault(tag_id, [])
        assert start == len(order) and count == len(ids) > 0, (tag[tag_id], start)
        assert (first_time, first_id) == (time_of[ids[0]], ids[0])
        order.extend(ids)
    assert orders.keys() == count_of.keys()
    for tag_id, order in orders.items():
        keys = [(time_of[i], i) for i in order]
        assert keys == sorted(set(keys)) and len(order) == count_of[tag_id], tag[tag_id]
    return {tag[t]: [path_of[i] for i in order] for t, order in orders.items()}


def full_rebuild(root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as other:
        cache = CacheDir(Path(other))
        result = run_scan(root, cache, full=True)
        assert result.mode == "full"
        return content(cache.current)


def table_rows(path: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but ``meta``, in order."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name != 'meta' ORDER BY name"
            )
        ]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def build_of(path: Path, root: Path, records: list[Record], *, staged: bool,
             **options: Any) -> Path:
    """A full build of ``records`` into ``path``: staged (the ``files`` rows written by
    SQLite, names only) or from the list (``options``: ``probed``...)."""
    if staged:
        found = Staged(path.parent)
        try:
            found.add(records)
            fullbuild.write(path, 1, found, root=str(root), **options)
        finally:
            found.close()
    else:
        fullbuild.write(path, 1, records, root=str(root), **options)
    return path
