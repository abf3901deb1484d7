"""A whole-tree rescan walked by two processes and compared as bytes (scan/rescan.py, through
scan/job.py): what it finds, when it hands over to one walker, how it fails."""

from __future__ import annotations

import marshal
import os
import sqlite3
from pathlib import Path
from unittest import mock

import pytest

from mediasrv.errors import ScanFailed
from mediasrv.index.cachedir import CacheDir
from mediasrv.index.current import open_current
from mediasrv.scan import build, rescan, walkshare
from mediasrv.scan.job import run_scan

from .support import jpeg_bytes, make_tree

TREE = {
    b"caf\xe9/\xff.jpg": b"1",
    b"caf\xe9/ok.jpg": b"22",
    "a/img1.jpg": b"22",
    "a/img2.jpg": b"333",
    "a/b/deep.jpg": b"4444",
}


def scanned(tmp_path: Path) -> tuple[Path, CacheDir]:
    root = make_tree(tmp_path / "lib", TREE)
    cache = CacheDir(tmp_path / "cache")
    assert run_scan(root, cache).status == "published"
    return root, cache


def test_the_current_rows_make_the_bytes_the_walkers_send(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    with open_current(cache.current_target()) as current:
        assert current is not None
        old = rescan.old_listings(current.conn)
    mtime = 1_600_000_000_000_000_000
    assert {folder: marshal.loads(rows) for folder, rows in old.items()} == {
        "caf\udce9": [("caf\udce9/ok.jpg", 2, mtime), ("caf\udce9/\udcff.jpg", 1, mtime)],
        "a": [("a/img1.jpg", 2, mtime), ("a/img2.jpg", 3, mtime)],
        "a/b": [("a/b/deep.jpg", 4, mtime)],
    }
    stats = walkshare.WalkStats()
    with walkshare.SharedWalk(root, exclude=[cache.path], stats=stats) as walk:
        sent = dict(walk.folders())
    assert {f: rows for f, rows in sent.items() if f} == old  # '' holds no files
    assert marshal.loads(sent[""]) == []


def test_no_change_then_a_size_changed_in_place_in_an_untouched_folder(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    result = run_scan(root, cache)
    assert (result.status, result.generation, result.walk["files"]) == ("unchanged", 1, 5)
    folder_mtime = os.stat(root / "a").st_mtime_ns
    with open(root / "a" / "img2.jpg", "r+b") as f:
        f.write(b"3334")
    os.utime(root / "a" / "img2.jpg", (1_600_000_000, 1_600_000_000))  # the same mtime
    assert os.stat(root / "a").st_mtime_ns == folder_mtime
    result = run_scan(root, cache)
    assert (result.status, result.mode, result.added, result.removed, result.changed) == (
        "published",
        "delta",
        0,
        0,
        1,
    )


def test_a_symlinked_folder_new_since_the_last_scan_is_walked_by_one_walker(
    tmp_path: Path,
) -> None:
    root, cache = scanned(tmp_path)
    os.symlink(root / "a" / "b", root / "link")
    result = run_scan(root, cache)
    assert (
        result.status,
        result.added,
        result.removed,
        result.walk["linked_folders"],
        result.walk["loops"],
    ) == ("published", 1, 1, 1, 1)
    with open_current(cache.current_target()) as current:
        assert current is not None
        # One walk's order decides: the link, met first (listing the root), wins over a/b.
        assert sorted(p for p, _, _ in current.file_stats()) == [
            "a/img1.jpg",
            "a/img2.jpg",
            "caf\udce9/ok.jpg",
            "caf\udce9/\udcff.jpg",
            "link/deep.jpg",
        ]


def test_a_walker_that_dies_fails_the_rescan_and_publishes_nothing(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    make_tree(root, {"new/x.jpg": "x"})
    with (
        mock.patch.object(walkshare, "list_folder", lambda *a: os._exit(3)),
        pytest.raises(ScanFailed, match=r"^a walk process ended unexpectedly"),
    ):
        run_scan(root, cache)
    assert sorted(p.name for p in cache.path.glob("gen-*.db")) == ["gen-000001.db"]
    assert run_scan(root, cache).added == 1


def test_a_folder_in_two_stretches_of_ids_is_one_listing(tmp_path: Path) -> None:
    _, cache = scanned(tmp_path)
    with open_current(cache.current_target()) as current:
        assert current is not None
        old = rescan.old_listings(current.conn)
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE folders (id INTEGER PRIMARY KEY, path TEXT, path_bytes BLOB);
        CREATE TABLE files (id INTEGER PRIMARY KEY, folder_id INT, path TEXT, size INT,
                            mtime_ns INT, path_bytes BLOB);
        INSERT INTO folders VALUES (1, 'a', NULL), (2, 'a/b', NULL);
        INSERT INTO files VALUES (1, 1, 'a/img2.jpg', 3, 1600000000000000000, NULL),
            (2, 2, 'a/b/deep.jpg', 4, 1600000000000000000, NULL),
            (3, 1, 'a/img1.jpg', 2, 1600000000000000000, NULL);
    """)
    assert rescan.old_listings(conn) == {"a": old["a"], "a/b": old["a/b"]}


def test_rows_kept_after_a_no_change_rescan_still_show_a_change(tmp_path: Path) -> None:
    """The scan process keeps the rows of a generation found unchanged: the next rescan of
    it reads none, and still finds a file changed in place; a new generation is read."""
    root, cache = scanned(tmp_path)
    reads: list[int] = []
    real = rescan.old_listings

    def counted(conn: sqlite3.Connection) -> dict[str, bytes]:
        reads.append(1)
        return real(conn)

    with mock.patch.object(rescan, "old_listings", counted):
        assert run_scan(root, cache).status == "unchanged"
        assert run_scan(root, cache).status == "unchanged"
        assert len(reads) == 1
        os.utime(root / "a" / "b" / "deep.jpg", ns=(1_600_000_000_000_000_001,) * 2)
        result = run_scan(root, cache)
        assert (result.status, result.generation, result.changed, len(reads)) == (
            "published",
            2,
            1,
            1,
        )
        assert run_scan(root, cache).status == "unchanged"
        assert len(reads) == 2


def test_a_rescan_of_a_generation_still_to_probe_builds_every_file(tmp_path: Path) -> None:
    """A first scan that deferred probing is probed by the next: in full, every file."""
    root = make_tree(tmp_path / "lib", {"a/x.jpg": jpeg_bytes(), "b/y.jpg": jpeg_bytes()})
    cache = CacheDir(tmp_path / "cache")
    with mock.patch.object(build, "DEFER_OVER", 0):
        assert run_scan(root, cache, defer_probing=True).probe["deferred"] == 2
    result = run_scan(root, cache)
    assert (result.status, result.mode, result.files, result.probe["probed"]) == (
        "published",
        "full",
        2,
        2,
    )
