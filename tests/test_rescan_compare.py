"""How a rescan tells an unchanged library from a changed one: each folder's listing compared
with its rows as the walk goes (scan/compare.py), or as bytes from two walkers (rescan.py)."""

from __future__ import annotations

import os
from pathlib import Path

from mediasrv.index.cachedir import CacheDir
from mediasrv.index.current import open_current
from mediasrv.scan.compare import Comparison
from mediasrv.scan.job import run_scan
from mediasrv.scan.rescan import walk_and_compare
from mediasrv.scan.walk import WalkStats, walk_folders

from .support import make_tree

TREE = {b"caf\xe9/\xff.jpg": b"1", "a/img1.jpg": b"22", "a/img2.jpg": b"333"}


def scanned(tmp_path: Path) -> tuple[Path, CacheDir]:
    root = make_tree(tmp_path / "lib", TREE)
    cache = CacheDir(tmp_path / "cache")
    assert run_scan(root, cache).status == "published"
    return root, cache


def counts(root: Path, cache: CacheDir) -> tuple[str, int, int, int, int]:
    r = run_scan(root, cache)
    return r.status, r.generation, r.added, r.removed, r.changed


def test_nothing_changed_including_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    assert counts(root, cache) == ("unchanged", 1, 0, 0, 0)


def test_a_new_modification_time_is_a_change(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    os.utime(root / "a" / "img2.jpg", (1_700_000_000, 1_700_000_000))
    assert counts(root, cache) == ("published", 2, 0, 0, 1)


def test_a_rename_keeps_the_count_but_is_a_change(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    os.rename(root / "a" / "img1.jpg", root / "a" / "img3.jpg")
    assert counts(root, cache) == ("published", 2, 1, 1, 0)


def test_a_changed_name_that_is_not_utf8_is_a_change(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    folder = os.path.join(os.fsencode(root), b"caf\xe9")
    os.rename(os.path.join(folder, b"\xff.jpg"), os.path.join(folder, b"\xfe.jpg"))
    assert counts(root, cache) == ("published", 2, 1, 1, 0)


def compared(root: Path, cache: CacheDir) -> tuple[dict[str, list[str]], int]:
    """(each folder that differs -> its file names now, files that differ) of a walk now."""
    with open_current(cache.current_target()) as current:
        assert current is not None
        comparison = Comparison(current.conn)
        for folder, records in walk_folders(root, exclude=[cache.path]):
            comparison.folder(folder, records)
        comparison.finish()
        # The same by two walker processes, each folder compared as bytes (rescan.py).
        shared, records = walk_and_compare(current.conn, root, exclude=[cache.path],
                                           stats=WalkStats())
    listed = comparison.listings()
    assert comparison.same == (not listed)
    found = ({folder: sorted(r.path for r in found) for folder, found in listed.items()},
             comparison.differ)
    assert ({folder: sorted(r.path for r in found) for folder, found in
             shared.listings().items()}, shared.differ) == found
    assert sorted(records()) == sorted(r for _, rs in walk_folders(root) for r in rs)
    return found


def test_the_walk_compares_folder_by_folder_and_keeps_only_what_differs(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    assert compared(root, cache) == ({}, 0)  # the name that is not UTF-8 included
    make_tree(root, {"a/img1.jpg": b"x2", "b/new.jpg": b"4"}, mtime=None)  # same size, now
    assert compared(root, cache) == ({"a": ["a/img1.jpg", "a/img2.jpg"], "b": ["b/new.jpg"]}, 2)


def test_a_file_changed_in_place_is_found_though_its_folder_is_not_touched(
    tmp_path: Path,
) -> None:
    """A write into a file leaves its folder's mtime alone: every file is still looked at."""
    root, cache = scanned(tmp_path)
    folder_mtime = os.stat(root / "a").st_mtime_ns
    os.utime(root / "a" / "img2.jpg", ns=(1_600_000_000_000_000_001,) * 2)
    assert os.stat(root / "a").st_mtime_ns == folder_mtime
    assert compared(root, cache) == ({"a": ["a/img1.jpg", "a/img2.jpg"]}, 1)


def test_a_folder_gone_is_listed_empty_with_its_files_counted(tmp_path: Path) -> None:
    root, cache = scanned(tmp_path)
    folder = os.path.join(os.fsencode(root), b"caf\xe9")
    os.unlink(os.path.join(folder, b"\xff.jpg"))
    os.rmdir(folder)
    assert compared(root, cache) == ({"caf\udce9": []}, 1)
