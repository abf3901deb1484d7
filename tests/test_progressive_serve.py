"""A server on an empty cache serves a first walk's files before the walk ends.

The scan process's walk is held after its first folder (a wrapped
``job.walk`` waits for a gate file; the first part is let out after one
folder): the part published by then is served, marked incomplete, until the
gate opens.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR, LIBRARY

from .support import held_walk_command, make_app, make_tree, until
from .support.openapi import check_json

pytestmark = pytest.mark.process

# Six folders of three files, walked f0 … f5.
SIX = {f"f{i}/img{j}.jpg": "" for i in range(6) for j in range(3)}


async def get(client: TestClient, url: str) -> dict[str, Any]:
    resp = await client.get(url)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    check_json(url.partition("?")[0], "GET", 200, body)
    return body


async def first_part_served(client: TestClient) -> None:
    await until(lambda: client.app[LIBRARY].generation is not None, "a first part served")
    files = await get(client, "/api/files?limit=100")
    assert (files["complete"], files["total"]) == (False, 3)
    assert [f["path"] for f in files["files"]] == ["f0/img0.jpg", "f0/img1.jpg", "f0/img2.jpg"]
    for url in ("/api/tags", "/api/search?q=img", "/api/months"):
        assert (await get(client, url))["complete"] is False


@pytest.mark.parametrize("state", ["sqlite", "memory"])
async def test_a_first_walk_is_browsable_before_it_ends_and_complete_after(
    aiohttp_client: Any, settings_for: Any, tmp_path: Path, state: str
) -> None:
    root = make_tree(tmp_path / "lib", SIX)
    gate = tmp_path / "gate"
    app = make_app(
        settings_for(root, state=state),
        LeaderOptions(scan_command=held_walk_command(tmp_path, gate)),
    )
    client: TestClient = await aiohttp_client(app)
    await first_part_served(client)
    status = await get(client, "/api/status")
    assert (status["complete"], status["scanning"], status["files"]) == (False, True, 3)
    # The walk listed the root and f0, found f0's 3 files.
    assert status["indexing"] == {"files": 3, "files_found": 3, "folders_found": 2}
    assert status["scan"]["folders_seen"] == 2
    # A page of what the walk has not come to yet waits for it (and reloads itself).
    page = await client.get("/tag/f5", headers={"Accept": "text/html"})
    text = await page.text()
    assert page.status == 404
    assert "<h1>Not found yet</h1>" in text and 'data-page="notyet"' in text

    gate.touch()
    await app[COORDINATOR].wait_idle()
    files = await get(client, "/api/files?limit=100")
    assert (files["complete"], files["total"]) == (True, 18)
    status = await get(client, "/api/status")
    assert (status["complete"], status["indexing"], status["files"]) == (True, None, 18)


@pytest.mark.fault
async def test_a_scan_process_killed_mid_walk_leaves_a_servable_part_the_next_start_completes(
    aiohttp_client: Any, settings_for: Any, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", SIX)
    app = make_app(
        settings_for(root),
        LeaderOptions(
            scan_command=held_walk_command(tmp_path, tmp_path / "never"), retry_delays=()
        ),
    )
    client: TestClient = await aiohttp_client(app)
    await first_part_served(client)
    coordinator = app[COORDINATOR]
    scan = coordinator.running
    assert scan is not None and coordinator.process is not None
    os.kill(coordinator.process.pid, signal.SIGKILL)
    await until(lambda: scan.finished, "the killed scan to end")
    assert scan.status == "failed"
    files = await get(client, "/api/files?limit=100")  # still served, still incomplete
    assert (files["complete"], files["total"]) == (False, 3)
    status = await get(client, "/api/status")
    assert (status["complete"], status["scanning"]) == (False, False)
    assert status["indexing"] == {"files": 3, "files_found": 3, "folders_found": 2}
    part = files["generation"]
    await client.close()

    # The next start serves the part at once, then completes it.
    app = make_app(settings_for(root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    files = await get(client, "/api/files?limit=100")
    assert (files["generation"], files["complete"], files["total"]) == (part, False, 3)
    app[COORDINATOR].request("startup")
    await app[COORDINATOR].wait_idle()
    files = await get(client, "/api/files?limit=100")
    assert (files["complete"], files["total"]) == (True, 18)
    assert files["generation"] > part
    assert sorted(p.name for p in (tmp_path / "cache").glob("gen-*.db")) == [
        f"gen-{files['generation']:06d}.db"
    ]
