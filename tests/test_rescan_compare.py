"""How a rescan tells an unchanged library from a changed one (the set-comparison fast path)."""

from __future__ import annotations

import os
from pathlib import Path

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan

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
