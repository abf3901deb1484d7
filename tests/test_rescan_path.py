"""``POST /api/rescan?path=SUBFOLDER``: a rescan of what a script knows it changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR

from .conftest import make_tree, recording_command


@pytest.fixture
async def recorded(started, settings_for, library: Path, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    """A client whose scan results say which paths the scan was given (``seen``)."""
    return await started(
        settings_for(library), LeaderOptions(scan_command=recording_command(tmp_path))
    )


async def post(client: TestClient, query: str, status: int = 200) -> dict[str, Any]:
    resp = await client.post(f"/api/rescan?{query}")
    body = await resp.json()
    assert resp.status == status, body
    return body


async def last_seen(client: TestClient) -> dict[str, Any]:
    coordinator = client.app[COORDINATOR]
    await coordinator.wait_idle()
    return coordinator.last.as_dict()["seen"]


async def test_path_and_wait_answers_what_the_scan_did(
    recorded: TestClient, library: Path
) -> None:
    make_tree(library, {"Trips/2024/new.jpg": "x"})
    body = await post(recorded, "path=Trips/2024&wait=1")
    assert body["duration_s"] >= body["scan_s"] > 0
    assert {k: v for k, v in body.items() if k not in ("duration_s", "scan_s")} == {
        "scan_id": 2, "status": "published", "generation": 2, "files": 8, "added": 1,
        "removed": 0, "changed": 0, "paths": 1, "mode": "delta", "error": None,
    }
    assert await last_seen(recorded) == {"paths": ["Trips/2024"], "full": False}


async def test_path_without_wait_is_202_and_says_how_many_paths_the_scan_covers(
    recorded: TestClient,
) -> None:
    body = await post(recorded, "path=Music", status=202)
    assert body == {"scan_id": 2, "status": "queued", "status_url": "/api/status", "paths": 1}
    assert await last_seen(recorded) == {"paths": ["Music"], "full": False}


async def test_plain_rescan_still_walks_everything(recorded: TestClient) -> None:
    body = await post(recorded, "wait=1")
    assert (body["status"], body["paths"]) == ("unchanged", None)
    assert await last_seen(recorded) == {"paths": None, "full": False}


@pytest.mark.parametrize(("query", "paths"), [
    ("path=./Trips//2024/", ["Trips/2024"]),
    ("path=Music&path=Trips/2023/Lake/clip.mp4", ["Music", "Trips/2023/Lake/clip.mp4"]),
    ("path=caf%E9/x.jpg", [b"caf\xe9/x.jpg".decode("utf-8", "surrogateescape")]),
    ("path=Trips%2F2024", ["Trips/2024"]),
    ("path=", None),  # the root itself: everything
    ("path=.", None),
    ("path=Music&path=./", None),
])
async def test_paths_are_read_byte_exact_and_normalised(
    recorded: TestClient, query: str, paths: list[str] | None
) -> None:
    await post(recorded, query + "&wait=1")
    assert await last_seen(recorded) == {"paths": paths, "full": False}


async def test_a_path_that_does_not_exist_is_accepted(recorded: TestClient) -> None:
    """It may just have been deleted: the scan drops what is gone."""
    body = await post(recorded, "path=no/such/folder&wait=1")
    assert (body["status"], body["error"]) == ("unchanged", None)
    assert await last_seen(recorded) == {"paths": ["no/such/folder"], "full": False}


@pytest.mark.parametrize(("query", "message"), [
    ("path=..", "path must not contain '..': '..'"),
    ("path=Trips/../../etc", "path must not contain '..': 'Trips/../../etc'"),
    ("path=%2E%2E/x", "path must not contain '..': '../x'"),
    ("path=/etc", "path must be relative to the library root, not '/etc'"),
    ("path=%2Fetc", "path must be relative to the library root, not '/etc'"),
    ("path=Music&path=/etc", "path must be relative to the library root, not '/etc'"),
    ("path=a%00b", "path must not contain a NUL character"),
    ("path=out", "path 'out' leads out of the library root"),
    ("path=out/deeper/x.jpg", "path 'out/deeper/x.jpg' leads out of the library root"),
])
async def test_paths_that_could_lead_out_of_the_root_are_400(
    recorded: TestClient, library: Path, tmp_path: Path, query: str, message: str
) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", library / "out")
    coordinator = recorded.app[COORDINATOR]
    before = coordinator.last
    body = await post(recorded, query + "&wait=1", status=400)
    assert body == {"error": {"code": "bad_parameter", "message": message}}
    assert (coordinator.last, coordinator.queued, coordinator.running) == (before, None, None)


async def test_a_symlink_that_stays_inside_the_root_is_fine(
    recorded: TestClient, library: Path
) -> None:
    os.symlink("Trips/2024", library / "recent")
    await post(recorded, "path=recent&wait=1")
    assert await last_seen(recorded) == {"paths": ["recent"], "full": False}


async def test_another_site_may_not_ask_for_a_path(recorded: TestClient) -> None:
    resp = await recorded.post("/api/rescan?path=Music",
                               headers={"Origin": "http://evil.example"})
    assert resp.status == 403
    assert recorded.app[COORDINATOR].queued is None


async def test_the_token_is_required_for_a_path(
    started, settings_for, library: Path  # type: ignore[no-untyped-def]
) -> None:
    client: TestClient = await started(settings_for(library, token="s3cret-0123456789"))
    assert (await client.post("/api/rescan?path=Music")).status == 401
    resp = await client.post("/api/rescan?path=Music",
                             headers={"Authorization": "Bearer s3cret-0123456789"})
    assert resp.status == 202


async def test_a_vanished_file_asks_for_a_rescan_of_its_path_only(
    client: TestClient, library: Path
) -> None:
    (library / "Music" / "song.mp3").unlink()
    assert (await client.get("/media/Music/song.mp3")).status == 404
    coordinator = client.app[COORDINATOR]
    await coordinator.wait_idle()
    assert (coordinator.last.reasons, coordinator.last.paths) == (
        ["vanished file"], {"Music/song.mp3"})
