"""Leases, swaps and retirement: the guarantees every request relies on."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from mediasrv.errors import IndexNotReady
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.serve.library import Library
from mediasrv.snapshot import open_snapshot

from .support import SMALL_TREE, make_tree


class Generations:
    """Publishes a new generation of a small tree on every call."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = make_tree(tmp_path / "lib", SMALL_TREE)
        self.cache = CacheDir(tmp_path / "cache")
        self.n = 0

    async def next(self, state: str = "sqlite") -> object:
        self.n += 1
        make_tree(self.root, {f"added/{self.n}.jpg": "x"})
        result = await asyncio.to_thread(run_scan, self.root, self.cache)
        assert result.mode == ("full" if self.n == 1 else "delta")
        return await open_snapshot(Path(result.db_path), state)


@pytest.fixture
def gens(tmp_path: Path) -> Generations:
    return Generations(tmp_path)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    """Threads other than the event loop's default executor (a bounded pool)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))


async def test_no_generation_yet_is_index_not_ready() -> None:
    with pytest.raises(IndexNotReady):
        async with Library().snapshot():
            pass


async def test_swap_repoints_new_requests(gens: Generations) -> None:
    library = Library(gens.cache)
    library.swap(await gens.next())
    library.swap(await gens.next())
    async with library.snapshot() as snap:
        assert snap.generation == 2
        assert (await snap.page("added", 0, 10))[0] == 2
    await library.close()


async def test_lease_keeps_reading_its_generation_across_a_swap(gens: Generations) -> None:
    library = Library(gens.cache)
    library.swap(await gens.next())
    async with library.snapshot() as old:
        old_path = old.path
        library.swap(await gens.next())
        assert library.generation == 2
        await asyncio.sleep(0.05)
        # still generation 1, file still on disk, connections still open
        assert old.generation == 1
        assert (await old.page("added", 0, 10))[0] == 1
        assert old_path.exists()
        async with library.snapshot() as new:
            assert new.generation == 2
    # the last lease ended: the file goes at once, connections right after
    assert not old_path.exists()
    await library.settled()
    assert library.live_paths() == {gens.cache.gen_path(2)}
    await library.close()


async def test_unleased_generation_is_retired_at_the_swap(gens: Generations) -> None:
    library = Library(gens.cache)
    first = await gens.next()
    library.swap(first)
    library.swap(await gens.next())
    assert not first.path.exists()  # type: ignore[attr-defined]
    await library.close()


async def test_retirement_waits_for_the_last_of_many_leases(gens: Generations) -> None:
    library = Library(gens.cache)
    library.swap(await gens.next())
    release = [asyncio.Event() for _ in range(5)]

    async def reader(event: asyncio.Event) -> int:
        async with library.snapshot() as snap:
            await event.wait()
            return (await snap.page("All", 0, 100))[0]

    tasks = [asyncio.create_task(reader(e)) for e in release]
    await asyncio.sleep(0)
    old_path = library.current.path  # type: ignore[union-attr]
    library.swap(await gens.next())
    for event in release[:-1]:
        event.set()
    await asyncio.sleep(0.05)
    assert old_path.exists()
    release[-1].set()
    assert await asyncio.gather(*tasks) == [8] * 5
    assert not old_path.exists()
    await library.close()


async def test_without_a_cache_dir_nothing_is_deleted(gens: Generations) -> None:
    """A follower's library: its leader deletes the files."""
    library = Library()
    first = await gens.next()
    library.swap(first)  # type: ignore[arg-type]
    library.swap(await gens.next())  # type: ignore[arg-type]
    await library.settled()
    await library.close()
    assert sorted(p.name for p in gens.cache.path.glob("gen-*")) == [
        "gen-000001.db", "gen-000002.db"]


async def test_a_generation_never_served_goes_at_the_next_swap(gens: Generations) -> None:
    library = Library(gens.cache)
    library.swap(await gens.next())  # type: ignore[arg-type]
    async with library.snapshot():
        unserved = await gens.next()  # published, never swapped in (its opening failed, say)
        await unserved.close()  # type: ignore[attr-defined]
        library.swap(await gens.next())  # type: ignore[arg-type]
        # Generation 1 is still leased: only 2 goes.
        assert sorted(p.name for p in gens.cache.path.glob("gen-*")) == [
            "gen-000001.db", "gen-000003.db"]
    assert sorted(p.name for p in gens.cache.path.glob("gen-*")) == ["gen-000003.db"]
    await library.close()


async def test_swapping_in_the_served_generation_is_refused(gens: Generations) -> None:
    library = Library(gens.cache)
    snap = await gens.next()
    library.swap(snap)
    with pytest.raises(ValueError, match="already being served"):
        library.swap(snap)  # type: ignore[arg-type]
    await library.close()


@pytest.mark.slow
@pytest.mark.parametrize("state", ["sqlite", "memory"])
async def test_no_leak_across_100_delta_swaps(gens: Generations, state: str) -> None:
    library = Library(gens.cache)
    library.swap(await gens.next(state))
    await library.settled()
    fds, nthreads = open_fds(), threads()
    for i in range(100):
        if i % 7 == 0:  # some swaps happen while a request holds a lease
            async with library.snapshot() as snap:
                library.swap(await gens.next(state))
                await snap.tags()
        else:
            library.swap(await gens.next(state))
    await library.settled()
    assert (open_fds(), threads()) == (fds, nthreads)
    on_disk = sorted(p.name for p in gens.cache.path.glob("gen-*"))
    assert on_disk == ["gen-000101.db"]
    await library.close()


async def test_a_reader_runs_calls_in_its_thread_and_joins_it_on_close(gens: Generations) -> None:
    import sqlite3

    from mediasrv.snapshot.readers import Reader

    snap = await gens.next()
    reader = Reader(snap.path, "test-reader")
    names = await reader.call(lambda conn: (threading.current_thread().name,
                                            conn.execute("SELECT count(*) FROM files").fetchone()))
    assert names == ("test-reader", (8,))
    with pytest.raises(sqlite3.OperationalError):  # errors come back to the caller
        await reader.call(lambda conn: conn.execute("SELECT nope FROM files"))
    await reader.close()
    assert "test-reader" not in {t.name for t in threading.enumerate()}
    await snap.close()


@pytest.mark.process
def test_a_forgotten_reader_never_keeps_the_process_alive(tmp_path: Path) -> None:
    import subprocess
    import sys

    from mediasrv.children import child_env

    gens = Generations(tmp_path)
    path = asyncio.run(_published(gens))
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from mediasrv.snapshot.readers import Reader\n"
        "async def main():\n"
        "    reader = Reader(Path(sys.argv[1]), 'forgotten')\n"
        "    await reader.call(lambda conn: conn.execute('SELECT 1').fetchall())\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(path)], env=child_env(),
                          timeout=30, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


async def _published(gens: Generations) -> Path:
    snap = await gens.next()
    await snap.close()
    return snap.path


async def test_files_found_gone_are_noted_on_their_generation(gens: Generations) -> None:
    library = Library(gens.cache)
    first = await gens.next()
    library.swap(first)  # type: ignore[arg-type]
    number = first.generation  # type: ignore[attr-defined]
    assert library.found_gone(number, "a.jpg") is True
    assert library.found_gone(number, "a.jpg") is False  # once: one rescan asked for
    assert set(library.gone(number)) == {"a.jpg"}
    second = await gens.next()
    library.swap(second)  # type: ignore[arg-type]
    assert set(library.gone(number)) == set()  # went with its generation
    assert set(library.gone(second.generation)) == set()  # type: ignore[attr-defined]
    assert library.found_gone(number, "b.jpg") is False  # a retired generation takes no notes
    await library.close()


def test_a_generation_published_during_the_cleanup_of_stale_ones_is_kept(tmp_path: Path) -> None:
    """A swap deletes the generations nobody serves. A scan may have published a newer one
    between the listing of the cache dir and the reading of current.db (found under load:
    a part then the complete index in quick succession, the complete one deleted before
    the server opened it). Only generations older than the newest kept go."""
    cache = CacheDir(tmp_path / "cache")
    cache.ensure()
    for number in (1, 2, 3):
        cache.gen_path(number).write_bytes(b"")
    cache.point_current_at(cache.gen_path(2))
    real = cache.current_target

    def current_target() -> Path | None:
        found = real()
        cache.gen_path(4).write_bytes(b"")  # published now: listed or not, current.db is at 2
        return found

    cache.current_target = current_target  # type: ignore[method-assign]
    cache.remove_stale_generations({cache.gen_path(2)})
    assert sorted(cache.generations()) == [2, 3, 4]  # 1 was stale; 3 and 4 are newer
    cache.current_target = real  # type: ignore[method-assign]
    cache.point_current_at(cache.gen_path(4))
    cache.remove_stale_generations({cache.gen_path(4)})
    assert sorted(cache.generations()) == [4]
