"""DirWatch: inotify on one folder, read on the event loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mediasrv.serve.cachewatch import DirWatch


async def test_wakes_for_the_names_asked_for_only(tmp_path: Path) -> None:
    woke = asyncio.Event()
    watch = DirWatch(tmp_path, lambda name: name == "current.db", woke.set)
    watch.start()
    try:
        (tmp_path / "gen-000001.db.tmp").write_bytes(b"x")
        os.symlink("gen-000001.db", tmp_path / "current.db.1.link")
        await asyncio.sleep(0.1)
        assert not woke.is_set()
        os.replace(tmp_path / "current.db.1.link", tmp_path / "current.db")  # a publish
        await asyncio.wait_for(woke.wait(), 5)
        woke.clear()
        (tmp_path / "current.db").unlink()
        await asyncio.wait_for(woke.wait(), 5)
        assert watch.alive
    finally:
        watch.close()
    assert watch.fd is None


async def test_a_removed_folder_ends_the_watch(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    woke = asyncio.Event()
    watch = DirWatch(folder, lambda name: False, woke.set)
    watch.start()
    folder.rmdir()
    await asyncio.wait_for(woke.wait(), 5)
    assert not watch.alive
    watch.close()


async def test_a_missing_folder_cannot_be_watched(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="No such file or directory"):
        DirWatch(tmp_path / "nope", lambda name: True, lambda: None).start()
