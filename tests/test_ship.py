"""Followers on other hosts: generations shipped into a second cache dir, file first, pointer last.

The README's recipe (rsync in three steps) and the same order done by hand
(what a copy to object storage and back does): a follower serving from the
second dir must never fail a request nor go back a generation, and must end
on the leader's generation.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.index.cachedir import CacheDir

from .support import Leader, serving


@pytest.fixture
def leader(tmp_path: Path) -> Leader:
    return Leader(tmp_path)

# The README's recipe, word for word (SRC and DEST are the two cache dirs).
RSYNC_RECIPE = [
    "rsync -a --include='gen-*.db' --exclude='*' \"$SRC/\" \"$DEST/\"",
    "rsync -a --include='current.db' --exclude='*' \"$SRC/\" \"$DEST/\"",
    "rsync -a --delete --include='gen-*.db' --include='current.db' --exclude='*' "
    "\"$SRC/\" \"$DEST/\"",
]


def test_the_readme_gives_this_recipe() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for step in RSYNC_RECIPE:
        assert step in readme


def ship_by_rsync(src: Path, dest: Path) -> None:
    env = {**os.environ, "SRC": str(src), "DEST": str(dest)}
    for step in RSYNC_RECIPE:
        subprocess.run(step, shell=True, check=True, env=env)


def ship_by_hand(src: Path, dest: Path) -> None:
    """Copy each new generation under a temp name and rename it; then the pointer; then prune."""
    source, replica = CacheDir(src), CacheDir(dest)
    dest.mkdir(exist_ok=True)
    have = replica.generations()
    for number, path in sorted(source.generations().items()):
        if number not in have:
            part = dest / f".{path.name}.part"
            shutil.copyfile(path, part)
            os.replace(part, replica.gen_path(number))
    target = source.current_target()
    if target is not None:
        replica.point_current_at(replica.gen_path(CacheDir.number_of(target) or 0))
    wanted = set(source.generations())
    for number, path in replica.generations().items():
        if number not in wanted:
            path.unlink()


@pytest.mark.parametrize("ship", [ship_by_hand, ship_by_rsync])
async def test_a_follower_serving_a_shipped_copy(
    started, settings_for, leader: Leader, tmp_path: Path, ship: Callable[[Path, Path], None]
) -> None:
    if ship is ship_by_rsync:
        assert shutil.which("rsync"), "this test needs rsync (Debian package rsync)"
    replica = tmp_path / "replica"
    await leader.publish()
    await asyncio.to_thread(ship, leader.cache.path, replica)
    client: TestClient = await started(settings_for(leader.root, follow=True, cache_dir=replica))
    await serving(client, 1)

    stop = asyncio.Event()
    seen: list[int] = []

    async def reader() -> None:
        last = 0
        while not stop.is_set():
            resp = await client.get("/api/files?tag=added&limit=100")
            body = await resp.json()
            assert resp.status == 200, body
            generation = body["generation"]
            assert body["total"] == generation  # generation n has added/1 .. added/n
            assert generation >= last
            last = generation
            seen.append(generation)
            await asyncio.sleep(0)

    readers = [asyncio.create_task(reader()) for _ in range(4)]
    for _ in range(10):
        await leader.publish()
        await asyncio.to_thread(ship, leader.cache.path, replica)
    await serving(client, 11)
    stop.set()
    await asyncio.gather(*readers)
    assert len(set(seen)) >= 3
    # the replica holds what the leader holds, and nothing the follower lost track of
    assert sorted(p.name for p in replica.glob("gen-*")) == ["gen-000011.db"]
    assert os.readlink(replica / "current.db") == "gen-000011.db"
