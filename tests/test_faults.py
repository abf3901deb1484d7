"""Faults, really injected: a full disk, a read-only cache, a vanished root, a stopped scan,
a thousand event streams, an absurd request.

For each: a clear error in the answer or in ``/api/status``, the current
index keeps serving, nothing is lost, and service comes back by itself when
the fault ends. The disk faults are real: the cache dir is a small tmpfs
(we run as root, so ``chmod`` would not stop us; a full or read-only file
system does), filled up or remounted read-only while the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from mediasrv.scan.walk import RootGone, walk
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR

from .conftest import SMALL_TREE, make_tree, worker_command
from .live import LiveServer
from .openapi_check import check_json
from .test_thumbs import jpeg_bytes


class Disk:
    """A small tmpfs to hold a cache dir: fill it up, free it, make it read-only and back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write until the file system says ENOSPC."""
        chunk = b"\0" * 65536
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while True:
                try:
                    written = os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
                chunk = chunk[:written] if written < len(chunk) else chunk
                if written == 0:
                    break
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink()

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield Disk(mountpoint)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


async def status_of(client: TestClient) -> dict[str, Any]:
    resp = await client.get("/api/status")
    body = await resp.json()
    check_json("/api/status", "GET", resp.status, body)
    return body  # type: ignore[no-any-return]


async def until(predicate: Any, client: TestClient, timeout: float = 30) -> dict[str, Any]:
    """Poll /api/status until ``predicate(status)``; returns that status."""
    deadline = time.monotonic() + timeout
    while True:
        status = await status_of(client)
        if predicate(status):
            return status
        assert time.monotonic() < deadline, f"status never came round: {status}"
        await asyncio.sleep(0.05)


async def total(client: TestClient) -> tuple[int, int]:
    body = await (await client.get("/api/files")).json()
    return body["generation"], body["total"]


# -- disk full ------------------------------------------------------------------


async def test_disk_full_while_writing_a_generation(started, settings_for, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                    disk: Disk) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, cache_dir=disk.path / "cache"),
                           LeaderOptions(retry_delays=(0.5,)))
    disk.fill()
    make_tree(root, {f"new/{i}.jpg": "x" for i in range(50)})
    body = await (await client.post("/api/rescan?wait=1")).json()
    check_json("/api/rescan", "POST", 200, body)
    assert (body["status"], body["generation"]) == ("failed", 1)
    assert body["error"].startswith("the disk is full")
    status = await status_of(client)
    assert status["last_scan"]["error"] == body["error"] and status["last_scan"]["retry_at"]
    assert await total(client) == (1, 7)  # the old index serves on
    assert not list((disk.path / "cache").glob("*.tmp"))
    disk.free()  # the fault ends: the retry publishes what the failed scan was to
    await until(lambda s: s["generation"] == 2 and s["last_scan"]["status"] == "published",
                client)
    assert await total(client) == (2, 57)


async def test_disk_full_while_writing_a_thumbnail(started, settings_for, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   disk: Disk) -> None:
    root = make_tree(tmp_path / "lib", {f"p/{i}.jpg": jpeg_bytes((200 + i, 100)) for i in range(3)})
    client = await started(settings_for(root, cache_dir=disk.path / "cache"))
    disk.fill()
    resp = await client.get("/thumb/p/0.jpg")
    assert (resp.status, resp.content_type) == (200, "image/jpeg")  # made, just not kept
    assert (await resp.read())[:2] == b"\xff\xd8"
    thumbs = (await status_of(client))["thumbnails"]
    assert (thumbs["cache"], thumbs["failed_writes"]) == ("failing", 1)
    assert "No space left on device" in thumbs["error"]
    assert (await client.get("/thumb/p/1.jpg")).status == 200
    assert (await status_of(client))["thumbnails"]["failed_writes"] == 2
    disk.free()
    assert (await client.get("/thumb/p/2.jpg")).status == 200
    assert (await status_of(client))["thumbnails"] == {"cache": "ok", "error": None,
                                                        "failed_writes": 2}
    kept = list((disk.path / "cache" / "thumbs").rglob("*.jpg"))
    assert len(kept) == 1 and not list((disk.path / "cache" / "thumbs").rglob("*.tmp"))


# -- a read-only cache dir --------------------------------------------------------


async def test_cache_dir_turned_read_only_while_serving(started, settings_for, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        disk: Disk) -> None:
    root = make_tree(tmp_path / "lib", {**SMALL_TREE, "pics/a.jpg": jpeg_bytes()})
    client = await started(settings_for(root, cache_dir=disk.path / "cache"),
                           LeaderOptions(retry_delays=(0.5,)))
    # The stars' database holds a file open for writing, and the kernel refuses
    # to remount a filesystem read-only while one is (a filesystem it turns
    # read-only after an error does not ask). This test is about the index
    # and the thumbnails, so the stars step aside for it.
    from mediasrv.server.favourites import STARS

    stars = client.app[STARS].favourites
    await stars.close()
    disk.remount("ro")
    try:
        assert await total(client) == (1, 8)  # reading the published index needs no write
        assert (await client.get("/media/pics/a.jpg")).status == 200
        assert (await client.get("/thumb/pics/a.jpg")).status == 200
        assert "Read-only file system" in (await status_of(client))["thumbnails"]["error"]
        make_tree(root, {"new/b.jpg": "x"})
        body = await (await client.post("/api/rescan?wait=1")).json()
        assert body["status"] == "failed"
        assert "is not writable: Read-only file system" in body["error"]
        assert await total(client) == (1, 8)
    finally:
        disk.remount("rw")
        await stars.open()
    status = await until(lambda s: s["generation"] == 2, client)
    assert status["last_scan"]["status"] == "published"
    assert await total(client) == (2, 9)
    assert (await client.get("/thumb/pics/a.jpg")).status == 200
    assert (await status_of(client))["thumbnails"]["cache"] == "ok"


# -- the library root renamed away and back ------------------------------------


async def test_root_renamed_away_and_back_while_serving(started, settings_for,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root), LeaderOptions(retry_delays=(0.5,)))
    away = tmp_path / "elsewhere"
    root.rename(away)
    try:
        assert await total(client) == (1, 7)  # the old index keeps serving
        resp = await client.get("/media/notes.txt")
        body = await resp.json()
        check_json("/media/{path}", "GET", resp.status, body)
        assert (resp.status, body["error"]["code"]) == (404, "file_gone")
        body = await (await client.post("/api/rescan?wait=1")).json()
        assert (body["status"], body["generation"]) == ("failed", 1)
        assert body["error"].startswith(f"cannot read the library root {root}")
        await asyncio.sleep(1.2)  # retries happen, and fail the same way: nothing published
        status = await status_of(client)
        assert (status["generation"], status["last_scan"]["status"]) == (1, "failed")
        assert status["last_scan"]["reasons"] == ["retry after a failed scan"]
        assert await total(client) == (1, 7)
    finally:
        away.rename(root)
    await until(lambda s: s["last_scan"]["status"] == "unchanged", client)
    resp = await client.get("/media/notes.txt")
    assert (resp.status, await resp.read()) == (200, b"g" * 70)


def test_a_root_that_vanishes_mid_walk_fails_the_walk(tmp_path: Path) -> None:
    """Renamed away and back during a walk: the walk must not end as if the tree were small."""
    root = make_tree(tmp_path / "lib", {f"d{i}/f.jpg": "" for i in range(20)})
    records = walk(root)
    next(records)
    root.rename(tmp_path / "away")
    with pytest.raises(RootGone, match="went away during the scan"):
        list(records)


# -- a stopped scan process ---------------------------------------------------------


async def test_a_stopped_scan_worker_is_killed_and_the_next_scan_runs(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library, scan_timeout=120.0),
                           LeaderOptions(retry_delays=()))
    coordinator = client.app[COORDINATOR]
    assert coordinator.scan_timeout == 120.0  # from the setting
    # Short from now on (a worker's start on a busy machine may take a second or two).
    coordinator.scan_timeout = 1.0
    stopped = coordinator.process
    assert stopped is not None
    stopped.send_signal(signal.SIGSTOP)
    try:
        make_tree(library, {"new/a.jpg": "x"})
        body = await asyncio.wait_for((await client.post("/api/rescan?wait=1")).json(), 30)
        assert (body["status"], body["generation"]) == ("failed", 1)
        assert body["error"].startswith("the scan made no progress for 1 s")
        assert (await status_of(client))["last_scan"]["error"] == body["error"]
        assert await asyncio.wait_for(stopped.wait(), 10) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            stopped.send_signal(signal.SIGCONT)
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["added"]) == ("published", 1)
    assert coordinator.process.pid != stopped.pid


async def test_a_slow_starting_worker_is_not_taken_for_a_stuck_one(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path, tmp_path: Path
) -> None:
    """Silence before the worker says "ready" (imports on a loaded machine) is not a stall."""
    slow = worker_command(tmp_path, "time.sleep(4)")
    client = await started(settings_for(library, scan_timeout=2.0),
                           LeaderOptions(scan_command=slow, retry_delays=()))
    last = (await status_of(client))["last_scan"]
    assert (last["status"], last["error"]) == ("published", None)


# -- a thousand event streams ---------------------------------------------------------


def fd_limit_1024() -> None:
    """The usual soft limit of a desktop session (the server must raise its own)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


STREAMS = 1000
# The goal is 100 ms; a test on a shared two-core CI machine gets ten times that
# as its deadline, so only a server that really stalls (seconds) fails it. The
# 100 ms figure is measured by scripts/soak.py --sse 1000 --sse-hold (docs/BENCHMARKS.md).
DEADLINE_S = 1.0


@pytest.mark.timeout(180)
async def test_a_thousand_event_streams(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    server = LiveServer(root, tmp_path / "cache", tmp_path / "server.log", "--no-watch",
                        preexec=fd_limit_1024)
    try:
        await asyncio.to_thread(server.wait_idle)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout,
                                         connector=aiohttp.TCPConnector(limit=0)) as http:
            streams = await asyncio.gather(*(http.get(f"{server.url}/api/events")
                                             for _ in range(STREAMS)))
            firsts = await asyncio.gather(*(s.content.readline() for s in streams))
            assert all(s.status == 200 for s in streams)
            assert firsts == [b"event: status\n"] * STREAMS
            fds = len(os.listdir(f"/proc/{server.pid}/fd"))
            assert fds > STREAMS  # every stream really is open at once

            async def timed(path: str) -> float:
                began = time.perf_counter()
                async with http.get(server.url + path) as resp:
                    assert resp.status == 200
                    await resp.read()
                return time.perf_counter() - began

            quiet = [await timed(p) for p in ("/api/tags", "/api/status", "/api/files") * 7]
            rescan = asyncio.ensure_future(http.post(f"{server.url}/api/rescan?wait=1"))
            busy = [await timed(p) for p in ("/api/tags", "/api/status", "/api/files") * 7]
            assert (await (await rescan).json())["status"] in ("published", "unchanged")
            print(f"\n{STREAMS} streams open ({fds} fds): other requests took "
                  f"{sorted(quiet)[10] * 1000:.1f} ms median, {max(quiet) * 1000:.1f} ms max; "
                  f"during a rescan {sorted(busy)[10] * 1000:.1f} / {max(busy) * 1000:.1f} ms")
            assert max(quiet + busy) < DEADLINE_S
            for stream in streams:
                stream.close()
        for _ in range(200):  # the server lets every stream go
            if len(os.listdir(f"/proc/{server.pid}/fd")) < 100:
                break
            await asyncio.sleep(0.05)
        assert len(os.listdir(f"/proc/{server.pid}/fd")) < 100
        assert (await asyncio.to_thread(server.get, "/api/tags"))["generation"] == 1
    finally:
        server.stop()
    log = server.log_text()
    assert "Too many open files" not in log and "socket.accept() out of" not in log


# -- absurd requests ----------------------------------------------------------------


async def test_a_1_mb_query_string_is_a_clear_414(client: TestClient) -> None:
    resp = await client.get("/api/files?tag=" + "A" * (1 << 20))
    body = await resp.json()
    check_json("/api/files", "GET", resp.status, body)
    assert resp.status == 414
    assert body["error"] == {"code": "uri_too_long", "message":
                             "the URL is 1,048,591 bytes long; at most 8,190 are accepted"}
    assert (await client.get("/api/tags")).status == 200  # and the server is fine


async def test_a_search_far_too_long_in_a_browser_is_a_page(client: TestClient) -> None:
    resp = await client.get("/search?q=" + "sunset%20" * 2000, headers={"Accept": "text/html"})
    assert (resp.status, resp.content_type) == (414, "text/html")
    html = await resp.text()
    assert "That is too long" in html and "at most 500 characters" in html
    assert "sunset sunset" not in html  # the query is not echoed back
    home = await (await client.get("/", headers={"Accept": "text/html"})).text()
    assert 'name="q" value="" placeholder="Search names…" maxlength="500"' in home


@pytest.mark.parametrize("limit", ["1" + "0" * 5000, "99999999999999999999", "-1" + "0" * 100])
async def test_a_huge_limit_is_a_clear_400(client: TestClient, limit: str) -> None:
    resp = await client.get(f"/api/files?limit={limit}")
    body = await resp.json()
    check_json("/api/files", "GET", resp.status, body)
    assert resp.status == 400
    assert body["error"]["message"].startswith("limit must be between 1 and 1000, not ")
    assert len(body["error"]["message"]) < 120
