"""The RescanCoordinator: one scan at a time, coalesced requests, events, failures."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.server.keys import COORDINATOR, LIBRARY

from .conftest import make_tree


def slow_scan_command(tmp_path: Path, gate: Path) -> Any:
    """A scan process that waits until ``gate`` exists before it scans."""
    script = tmp_path / "slowscan.py"
    script.write_text(
        "import os, sys, time\n"
        f"while not os.path.exists({str(gate)!r}):\n"
        "    time.sleep(0.01)\n"
        "from mediasrv import scanjob\n"
        "sys.exit(scanjob.main(sys.argv[1:]))\n"
    )
    return lambda root, cache: [sys.executable, str(script), str(root), str(cache)]


@pytest.fixture
async def gated(started, settings_for, library: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(client, gate): the index is built; later scans wait while ``gate`` is missing."""
    gate = tmp_path / "gate"
    gate.touch()
    client: TestClient = await started(
        settings_for(library), coordinator_options={"command": slow_scan_command(tmp_path, gate)}
    )
    gate.unlink()
    return client, gate


async def test_requests_during_a_scan_coalesce_into_one_follow_up(
    gated: tuple[TestClient, Path], library: Path
) -> None:
    client, gate = gated
    coordinator = client.app[COORDINATOR]
    runs_before = coordinator.scans_run
    first = coordinator.request("a")
    await asyncio.sleep(0.05)
    assert coordinator.running is first
    make_tree(library, {"new.jpg": "x"})
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


async def test_events_stream_scan_start_progress_and_end(client: TestClient, library: Path) -> None:
    resp = await client.get("/api/events")
    assert resp.headers["Content-Type"] == "text/event-stream"

    async def next_event() -> tuple[str, dict[str, Any]]:
        import json

        name, data = "", ""
        while True:
            line = (await asyncio.wait_for(resp.content.readline(), 30)).decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name:
                return name, json.loads(data)

    name, first = await next_event()
    assert (name, first["generation"]) == ("status", 1)
    make_tree(library, {"x/new.jpg": "x"})
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
    library: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text('import sys\nprint(\'{"type": "error", "message": "boom"}\')\nsys.exit(1)\n')
    toggle = {"broken": False}

    def command(root: Path, cache: Path) -> list[str]:
        if toggle["broken"]:
            return [sys.executable, str(broken)]
        return [sys.executable, "-m", "mediasrv.scanjob", str(root), str(cache)]

    client: TestClient = await started(
        settings_for(library), coordinator_options={"command": command}
    )
    toggle["broken"] = True
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["error"], body["generation"]) == ("failed", "boom", 1)
    status = await (await client.get("/api/status")).json()
    assert (status["last_scan"]["error"], status["generation"]) == ("boom", 1)
    toggle["broken"] = False
    make_tree(library, {"z.jpg": "z"})
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["generation"], body["error"]) == ("published", 2, None)


async def test_scan_process_that_dies_without_a_word(
    started,
    settings_for,
    library: Path,  # type: ignore[no-untyped-def]
) -> None:
    client: TestClient = await started(
        settings_for(library),
        coordinator_options={
            "command": lambda r, c: [sys.executable, "-c", "import sys; sys.exit(3)"]
        },
    )
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["error"]) == ("failed", "scan process exited with status 3")
