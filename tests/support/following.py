"""A leader for follower tests: publishes into a cache dir as ``mediasrv scan`` does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan

from .trees import SMALL_TREE, make_tree


class Leader:
    """Publishes into a cache dir as `mediasrv scan` does, one new file per generation."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = make_tree(tmp_path / "lib", SMALL_TREE)
        self.cache = CacheDir(tmp_path / "cache")
        self.n = 0

    async def publish(self, *, delete_old: bool = True) -> int:
        self.n += 1
        make_tree(self.root, {f"added/{self.n}.txt": "x"})  # .txt: nothing to probe
        result = await asyncio.to_thread(run_scan, self.root, self.cache)
        if delete_old:  # what a leader does once it no longer reads them
            await asyncio.to_thread(self.cache.remove_stale_generations, set())
        return result.generation
