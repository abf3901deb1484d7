"""The RescanCoordinator: one scan at a time, coalesced requests, events, failures."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.events import MAX_PATHS
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR, LIBRARY

from .support import gated_command, make_tree, recording_command, until, worker_command
from .support.openapi import read_events


@pytest.fixture
async def gated(started, settings_for, lib_root: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(client, gate): the index is built; later scans wait while ``gate`` is missing."""
    gate = tmp_path / "gate"
    gate.touch()
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=gated_command(tmp_path, gate))
    )
    gate.unlink()
    return client, gate


async def test_requests_during_a_scan_coalesce_into_one_follow_up(
    gated: tuple[TestClient, Path], lib_root: Path
) -> None:
    client, gate = gated
    coordinator = client.app[COORDINATOR]
    runs_before = coordinator.scans_run
    first = coordinator.request("a")
    await until(lambda: coordinator.running is first, "the first scan to start")
    assert coordinator.running is first
    make_tree(lib_root, {"new.jpg": "x"})
    followers = [coordinator.request(reason) for reason in ("b", "c", "b", "d")]
    assert all(f is followers[0] for f in followers)
    assert followers[0] is not first
    assert followers[0].reasons == ["b", "c", "d"]
    gate.touch()
    await coordinator.wait_idle()
    assert coordinator.scans_run - runs_before == 2
    assert (first.status, followers[0].status) == ("published", "unchanged") or (
        first.status,
        followers[0].status,
    ) == ("unchanged", "published")
    assert client.app[LIBRARY].generation == 2


async def test_http_rescans_share_the_queued_scan(gated: tuple[TestClient, Path]) -> None:
    client, gate = gated
    ids = [(await (await client.post("/api/rescan")).json())["scan_id"] for _ in range(5)]
    assert ids == [2, 3, 3, 3, 3]  # one running, then one queued for everyone else
    status = await (await client.get("/api/status")).json()
    assert (status["scanning"], status["scan"]["id"], status["queued"]) == (True, 2, 3)
    gate.touch()
    await client.app[COORDINATOR].wait_idle()


async def test_events_stream_scan_start_progress_and_end(client: TestClient,
                                                        lib_root: Path) -> None:
    resp = await client.get("/api/events")
    assert resp.headers["Content-Type"] == "text/event-stream"

    events = read_events(resp.content)

    async def next_event() -> tuple[str, dict[str, Any]]:
        name, data = await asyncio.wait_for(anext(events), 30)
        return name, dict(data)

    name, first = await next_event()
    assert (name, first["generation"]) == ("status", 1)
    make_tree(lib_root, {"x/new.jpg": "x"})
    await client.post("/api/rescan")
    seen = []
    while not seen or seen[-1][0] not in ("finished", "failed"):
        seen.append(await next_event())
    names = [n for n, _ in seen]
    assert names[0] == "started" and names[-1] == "finished"
    assert "progress" in names
    last = seen[-1][1]
    assert (last["scan"]["status"], last["scan"]["added"], last["generation"]) == (
        "published",
        1,
        2,
    )
    resp.close()


async def test_failed_scan_is_reported_and_the_next_one_succeeds(
    started,
    settings_for,
    lib_root: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    broken = tmp_path / "broken"
    command = worker_command(
        tmp_path,
        "from mediasrv.errors import ScanFailed\n"
        "real_run_scan = job.run_scan\n"
        "def run_scan(*args, **kwargs):\n"
        f"    if os.path.exists({str(broken)!r}):\n"
        "        raise ScanFailed('boom')\n"
        "    return real_run_scan(*args, **kwargs)\n"
        "job.run_scan = run_scan\n",
    )
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=command)
    )
    pid = client.app[COORDINATOR].process.pid
    broken.touch()
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["error"], body["generation"]) == ("failed", "boom", 1)
    status = await (await client.get("/api/status")).json()
    assert (status["last_scan"]["error"], status["generation"]) == ("boom", 1)
    broken.unlink()
    make_tree(lib_root, {"z.jpg": "z"})
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["generation"], body["error"]) == ("published", 2, None)
    assert client.app[COORDINATOR].process.pid == pid  # a failed scan does not cost the worker


async def test_a_queued_scan_covers_the_union_of_the_paths_asked_for(
    gated: tuple[TestClient, Path],
) -> None:
    client, gate = gated
    coordinator = client.app[COORDINATOR]
    first = coordinator.request("watch", paths=["a/1.jpg"])
    await until(lambda: coordinator.running is first, "the first scan to start")
    assert coordinator.running is first
    queued = coordinator.request("watch", paths=["b", "a/2.jpg"])
    assert coordinator.request("vanished file", paths=["b", "c/3.jpg"]) is queued
    assert (queued.paths, first.paths) == ({"a/2.jpg", "b", "c/3.jpg"}, {"a/1.jpg"})
    assert (queued.as_dict()["paths"], first.as_dict()["paths"]) == (3, 1)
    gate.touch()
    await coordinator.wait_idle()


async def test_a_request_without_paths_makes_the_queued_scan_walk_everything(
    gated: tuple[TestClient, Path],
) -> None:
    client, gate = gated
    coordinator = client.app[COORDINATOR]
    running = coordinator.request("watch", paths=["a"])
    await until(lambda: coordinator.running is running, "the first scan to start")
    queued = coordinator.request("watch", paths=["b"])
    assert coordinator.request("interval") is queued
    assert coordinator.request("watch", paths=["c"]) is queued
    assert (queued.paths, queued.as_dict()["paths"]) == (None, None)
    gate.touch()
    await coordinator.wait_idle()


async def test_more_paths_than_the_cap_make_a_walk_of_everything(
    gated: tuple[TestClient, Path],
) -> None:
    client, gate = gated
    coordinator = client.app[COORDINATOR]
    running = coordinator.request("startup")
    await until(lambda: coordinator.running is running, "the first scan to start")
    queued = coordinator.request("watch", paths=[f"d/{i}.jpg" for i in range(MAX_PATHS - 1)])
    coordinator.request("watch", paths=["d/0.jpg", "e.jpg"])  # one already there: exactly the cap
    assert len(queued.paths or ()) == MAX_PATHS == 10_000
    coordinator.request("watch", paths=["f.jpg"])
    assert queued.paths is None
    with pytest.raises(TypeError):
        coordinator.request("watch", paths="not/a/collection.jpg")
    gate.touch()
    await coordinator.wait_idle()


async def test_paths_reach_the_worker_and_new_result_keys_pass_through(
    started, settings_for, lib_root: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The worker hands the paths (exact, even not UTF-8) to run_scan; unknown keys come back."""
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=recording_command(tmp_path))
    )
    coordinator = client.app[COORDINATOR]
    odd = b"caf\xe9/x.jpg".decode("utf-8", "surrogateescape")
    scan = coordinator.request("test", paths=["Trips/2024", odd])
    await scan.done.wait()
    info = scan.as_dict()
    assert (info["status"], info["paths"], info["mode"]) == ("unchanged", 2, "delta")
    assert info["seen"] == {"paths": ["Trips/2024", odd], "full": False}
    scan = coordinator.request("test")
    await scan.done.wait()
    assert scan.as_dict()["seen"] == {"paths": None, "full": False}


async def test_durations_are_what_a_caller_waits(client: TestClient) -> None:
    """duration_s: from the request to the answer; scan_s: the scan process's part of it."""
    body = (await (await client.post("/api/rescan?wait=1")).json())
    assert body["duration_s"] >= body["scan_s"] > 0
    last = (await (await client.get("/api/status")).json())["last_scan"]
    assert last["duration_s"] == round(last["finished_at"] - last["queued_at"], 3)
    assert last["duration_s"] >= last["scan_s"]


@pytest.mark.slow
async def test_a_scan_that_found_nothing_still_counts_as_the_last_look(
    client: TestClient,
) -> None:
    """The footer and /api/status say when a scan last finished, whatever it found."""
    first = await (await client.get("/api/status")).json()
    before = first["last_scan_at"]
    await asyncio.sleep(2.1)  # two seconds later, so the ISO times differ by more than one
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert body["status"] == "unchanged"
    status = await (await client.get("/api/status")).json()
    assert status["last_scan_at"] > before
    # The index itself was built by the first scan: a look that found nothing leaves its
    # time as it was, written before that scan ended (on a loaded machine, 3 s before).
    assert status["scanned_at"] == first["scanned_at"]
    assert datetime.fromisoformat(status["scanned_at"]) <= datetime.fromisoformat(before)
    html = await (await client.get("/")).text()
    shown = re.search(r'<time id="st-time" datetime="([^"]+)"', html)
    assert shown is not None
    assert datetime.fromisoformat(shown[1]) == datetime.fromisoformat(status["last_scan_at"])


async def test_a_failed_scan_is_not_a_look_at_the_library(gated, lib_root: Path) -> None:  # type: ignore[no-untyped-def]
    client, _ = gated
    coordinator = client.app[COORDINATOR]
    checked = coordinator.checked_at
    scan = coordinator.request("doomed")
    await until(lambda: coordinator.running is scan, "the scan to start")
    coordinator._worker.kill()
    await scan.done.wait()
    assert scan.status == "failed"
    assert coordinator.checked_at == checked


async def test_closing_during_a_scan_removes_its_temp_file(  # type: ignore[no-untyped-def]
    started, settings_for, lib_root: Path, tmp_path: Path
) -> None:
    """Shutdown kills a scan mid-build; the build it leaves must not wait for the next start."""
    stuck = worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def stuck(root, cache, *args, **kwargs):\n"
        "    if not cache.current.exists():\n"
        "        return real_run_scan(root, cache, *args, **kwargs)\n"
        "    with cache.lock('scan', wait=True):\n"
        "        cache.tmp_path(2).write_bytes(b'half a generation')\n"
        "        time.sleep(3600)\n"
        "job.run_scan = stuck\n",
    )
    client = await started(settings_for(lib_root), LeaderOptions(scan_command=stuck))
    coordinator = client.app[COORDINATOR]
    scan = coordinator.request("test")
    cache = tmp_path / "cache"
    while not (cache / "gen-000002.db.tmp").exists():
        await asyncio.sleep(0.01)
    assert coordinator.running is scan
    await coordinator.close()
    assert (scan.status, sorted(p.name for p in cache.glob("*.tmp"))) == ("failed", [])
