"""A follower in-process: it serves what a leader publishes into the cache dir, and no more."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.serve.cachewatch import filesystem_type, needs_polling
from mediasrv.server.following import LEADER_URL
from mediasrv.server.keys import COORDINATOR, LIBRARY

from .conftest import SMALL_TREE, make_app, make_tree


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


@pytest.fixture
def leader(tmp_path: Path) -> Leader:
    return Leader(tmp_path)


@pytest.fixture
async def follow(started, settings_for, leader: Leader):  # type: ignore[no-untyped-def]
    async def start(**overrides: Any) -> TestClient:
        return await started(settings_for(leader.root, follow=True, **overrides))

    return start


async def serving(client: TestClient, generation: int, timeout: float = 10.0) -> None:
    """Wait (a deadline, not a measurement) until the follower serves ``generation``."""
    library = client.app[LIBRARY]
    async with asyncio.timeout(timeout):
        while library.generation != generation:
            await asyncio.sleep(0.01)


async def status(client: TestClient) -> dict[str, Any]:
    return await (await client.get("/api/status")).json()


async def test_serves_the_published_generation_at_start(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    body = await (await client.get("/api/files?tag=added")).json()
    assert (body["generation"], body["total"]) == (1, 1)
    st = await status(client)
    assert st["role"] == "follower"
    assert st["generation"] == 1
    f = st["follower"]
    assert (f["watch"], f["cache_generation"], f["behind"], f["lag_s"]) == ("inotify", 1, 0, 0.0)
    assert (f["swaps"], f["last_swap"]["generation"], f["error"]) == (1, 1, None)
    assert (st["watcher"]["state"], st["watcher"]["error"]) == ("off", None)


@pytest.mark.parametrize(("polling", "state"), [(False, "sqlite"), (True, "sqlite"),
                                               (False, "memory")])
async def test_publishes_reach_the_follower(follow, leader: Leader, polling: bool,
                                            state: str) -> None:
    await leader.publish()
    client = await follow(force_polling=polling, state=state)
    for generation in (2, 3):
        assert await leader.publish() == generation
        await serving(client, generation)
        body = await (await client.get("/api/files?tag=added")).json()
        assert (body["generation"], body["total"]) == (generation, generation)
    follower = (await status(client))["follower"]
    assert follower["watch"] == ("polling" if polling else "inotify")
    assert (follower["swaps"], follower["last_swap"]["previous"]) == (3, 2)
    assert follower["last_swap"]["lag_s"] >= 0


async def test_before_any_generation_503_then_serves_the_first(follow, leader: Leader) -> None:
    client = await follow()  # the cache dir does not even exist yet
    resp = await client.get("/api/tags")
    assert resp.status == 503
    error = (await resp.json())["error"]
    assert error["code"] == "index_not_ready"
    assert "waiting for the leader" in error["message"]
    st = await status(client)
    assert (st["generation"], st["follower"]["error"]) == (None, "no generation published yet")
    await leader.publish()
    await serving(client, 1)
    assert (await client.get("/api/tags")).status == 200


async def test_pages_of_a_follower_have_no_rescan_button(follow, leader: Leader) -> None:
    client = await follow()
    waiting = await client.get("/", headers={"Accept": "text/html"})
    assert waiting.status == 503
    assert "This server follows another mediasrv" in await waiting.text()
    await leader.publish()
    await serving(client, 1)
    home = await client.get("/")
    assert home.status == 200
    html = await home.text()
    assert "Trips" in html
    assert 'id="rescan-form"' not in html


async def test_rescan_on_a_follower_is_a_409(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    resp = await client.post("/api/rescan?wait=1")
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "follower"
    assert "leader" in error["message"]
    assert client.app[COORDINATOR].scans_run == 0
    assert sorted(p.name for p in leader.cache.path.glob("gen-*")) == ["gen-000001.db"]


async def test_a_vanished_file_starts_no_scan_on_a_follower(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    (leader.root / "Music" / "song.mp3").unlink()
    resp = await client.get("/api/random?tag=Music")
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "file_gone")
    coordinator = client.app[COORDINATOR]
    assert (coordinator.running, coordinator.queued, coordinator.scans_run) == (None, None, 0)


async def test_events_report_swaps(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    resp = await client.get("/api/events")
    events: list[tuple[str, dict[str, Any]]] = []

    async def read_until_swap() -> None:
        name = None
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: ") and name is not None:
                events.append((name, json.loads(line[len("data: "):])))
                if name == "swap":
                    return

    reader = asyncio.create_task(read_until_swap())
    while not events:
        await asyncio.sleep(0.01)
    await leader.publish()
    async with asyncio.timeout(10):
        await reader
    resp.close()
    (first, status_event), (last, swap) = events[0], events[-1]
    assert (first, status_event["role"], status_event["generation"]) == ("status", "follower", 1)
    assert last == "swap"
    assert (swap["generation"], swap["previous"], swap["files"]) == (2, 1, 9)


async def test_a_follower_never_deletes_a_generation(follow, leader: Leader) -> None:
    await leader.publish(delete_old=False)
    client = await follow()
    for generation in (2, 3):
        await leader.publish(delete_old=False)
        await serving(client, generation)
    await client.app[LIBRARY].settled()
    assert sorted(p.name for p in leader.cache.path.glob("gen-*")) == [
        "gen-000001.db", "gen-000002.db", "gen-000003.db"
    ]


async def test_keeps_serving_while_current_db_is_missing(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    leader.cache.current.unlink()  # the follower notices at once (inotify)
    for _ in range(5):
        await asyncio.sleep(0.02)
        body = await (await client.get("/api/tags")).json()
        assert body["generation"] == 1
    assert (await status(client))["follower"]["error"] is None
    await leader.publish()  # a leader restart: the numbers carry on
    await serving(client, 2)


async def test_a_pointer_to_a_missing_or_damaged_file_keeps_the_old_one(
    follow, leader: Leader
) -> None:
    await leader.publish()
    client = await follow()
    cache = leader.cache
    # current.db names a file that was set aside meanwhile
    cache.point_current_at(cache.gen_path(5))
    await asyncio.sleep(0.1)
    st = await status(client)
    assert (st["generation"], st["follower"]["cache_generation"], st["follower"]["behind"]) == (
        1, 5, 4)
    assert st["follower"]["error"].startswith("cannot serve generation 5 yet")
    # ... or a damaged one
    cache.gen_path(6).write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    cache.point_current_at(cache.gen_path(6))
    await asyncio.sleep(0.1)
    body = await (await client.get("/api/files?tag=added")).json()
    assert (body["generation"], body["total"]) == (1, 1)
    assert "cannot serve generation 6 yet" in (await status(client))["follower"]["error"]
    cache.gen_path(6).unlink()  # the leader sets it aside and rebuilds
    assert await leader.publish() == 7
    await serving(client, 7)
    assert (await status(client))["follower"]["error"] is None


async def test_a_generation_of_another_schema_is_not_served(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    newer = leader.cache.path / "newer.tmp"
    shutil.copyfile(leader.cache.gen_path(1), newer)
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    os.replace(newer, leader.cache.gen_path(2))
    leader.cache.point_current_at(leader.cache.gen_path(2))
    await asyncio.sleep(0.1)
    st = await status(client)
    assert st["generation"] == 1
    assert "schema version 99" in st["follower"]["error"]


async def test_an_older_pointer_is_not_followed_while_the_served_file_exists(
    follow, leader: Leader
) -> None:
    await leader.publish(delete_old=False)
    await leader.publish(delete_old=False)
    client = await follow()
    assert client.app[LIBRARY].generation == 2
    leader.cache.point_current_at(leader.cache.gen_path(1))
    await asyncio.sleep(0.1)
    st = await status(client)
    assert st["generation"] == 2
    assert "older than generation 2" in st["follower"]["error"]
    # the cache dir was reset (generation 2 is gone): follow it down
    leader.cache.gen_path(2).unlink()
    leader.cache.point_current_at(leader.cache.gen_path(1))
    await serving(client, 1)


def open_fds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own fd
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def threads() -> int:
    """Threads other than the event loop's default executor (a bounded pool)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))


async def test_fds_and_threads_stay_flat_over_100_publishes(follow, leader: Leader) -> None:
    await leader.publish()
    client = await follow()
    library = client.app[LIBRARY]
    for _ in range(3):  # warm up: the client's connection, the executor
        await leader.publish()
        await serving(client, leader.n)
        assert (await client.get("/api/tags")).status == 200
    await library.settled()
    fds, nthreads = len(open_fds()), threads()
    for i in range(100):
        if i % 7 == 0:  # some swaps happen while a request holds the old generation
            async with library.snapshot() as snap:
                await leader.publish()
                await serving(client, leader.n)
                assert not snap.path.exists()  # the leader deleted it; we still read it
                assert (await snap.tags())[0] == ("All", 7 + leader.n - 1)
        else:
            await leader.publish()
            await serving(client, leader.n)
        if i % 10 == 0:
            body = await (await client.get("/api/files?tag=added")).json()
            assert (body["generation"], body["total"]) == (leader.n, leader.n)
    await library.settled()
    assert (len(open_fds()), threads()) == (fds, nthreads)
    # nothing the leader deleted is held open: every open generation is the current one
    open_gens = {link for link in open_fds() if "/gen-" in link}
    assert open_gens == {str(leader.cache.gen_path(leader.n).resolve())}  # none "(deleted)"


MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /srv/cache rw,relatime shared:20 - nfs4 nas:/export/cache rw,vers=4.2
41 40 0:36 / /srv/cache/local rw shared:21 - tmpfs tmpfs rw
42 22 0:37 / /mnt/my\040share rw shared:22 - cifs //nas/share rw
43 22 0:38 / /mnt/s3 rw shared:23 - fuse.rclone remote: rw
"""


@pytest.mark.parametrize(("path", "fstype", "polls"), [
    ("/home/me/.cache/mediasrv", "ext4", False),
    ("/srv/cache", "nfs4", True),
    ("/srv/cache/lib-1234", "nfs4", True),
    ("/srv/cache/local/x", "tmpfs", False),
    ("/srv/cachex", "ext4", False),
    ("/mnt/my share/cache", "cifs", True),
    ("/mnt/s3/cache", "fuse.rclone", True),
])
def test_network_filesystems_are_polled(path: str, fstype: str, polls: bool) -> None:
    assert filesystem_type(Path(path), MOUNTINFO) == fstype
    assert needs_polling(fstype) is polls


async def test_a_workers_follower_passes_rescans_to_its_leader(
    started, settings_for, leader: Leader, aiohttp_client
) -> None:
    lead = await started(settings_for(leader.root))
    app = make_app(settings_for(leader.root, follow=True))
    app[LEADER_URL] = str(lead.make_url("/"))
    client = await aiohttp_client(app)
    await serving(client, 1)
    make_tree(leader.root, {"added/1.txt": "x"})
    resp = await client.post("/api/rescan?wait=1")
    body = await resp.json()
    assert (resp.status, body["status"], body["generation"], body["added"]) == (
        200, "published", 2, 1)
    await serving(client, 2)
    assert 'id="rescan-form"' in await (await client.get("/")).text()
    assert lead.app[COORDINATOR].scans_run == 2 and client.app[COORDINATOR].scans_run == 0


async def test_a_leader_out_of_reach_is_a_503(follow, leader: Leader, aiohttp_client,
                                              settings_for) -> None:
    app = make_app(settings_for(leader.root, follow=True))
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        app[LEADER_URL] = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    client = await aiohttp_client(app)
    resp = await client.post("/api/rescan")
    assert (resp.status, (await resp.json())["error"]["code"]) == (503, "leader_unavailable")
