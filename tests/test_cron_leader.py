"""`mediasrv scan` as the leader (from cron): it deletes what no server reads any more."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mediasrv.index.cachedir import CacheDir

from .support import SMALL_TREE, make_tree, run

pytestmark = pytest.mark.process


def scan(lib: Path, cache: Path) -> None:
    proc = run("scan", str(lib), "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr


def generations(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("gen-*"))


def test_scan_deletes_older_generations_when_no_server_serves_the_cache(tmp_path: Path) -> None:
    lib, cache = make_tree(tmp_path / "lib", SMALL_TREE), tmp_path / "cache"
    for n in range(3):
        make_tree(lib, {f"added/{n}.txt": "x"})
        scan(lib, cache)
    assert generations(cache) == ["gen-000003.db"]
    assert os.readlink(cache / "current.db") == "gen-000003.db"


def test_scan_leaves_deleting_to_a_server_serving_the_cache(tmp_path: Path) -> None:
    lib, cache = make_tree(tmp_path / "lib", SMALL_TREE), tmp_path / "cache"
    scan(lib, cache)
    serving = CacheDir(cache).hold_lock("serve")  # as a running `mediasrv serve` does
    try:
        make_tree(lib, {"added/1.txt": "x"})
        scan(lib, cache)
        assert generations(cache) == ["gen-000001.db", "gen-000002.db"]
    finally:
        os.close(serving)
