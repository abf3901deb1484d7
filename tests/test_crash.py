"""Crashes and bad state: a killed scan worker, stray temp files, a corrupt or outdated index."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import CACHE, COORDINATOR, LIBRARY

from .support import SMALL_TREE, make_app, make_tree, many_files, rescan, worker_command

pytestmark = pytest.mark.fault


async def test_scan_killed_mid_build_leaves_the_old_generation_serving(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root))
    many_files(root / "big", 10_000)
    coordinator = client.app[COORDINATOR]
    cache: CacheDir = client.app[CACHE]
    scan = coordinator.request("test")
    # wait until the scan worker is writing its temp file, then kill it
    for _ in range(3000):
        if coordinator.process is not None and list(cache.path.glob("*.tmp")):
            break
        await asyncio.sleep(0.005)
    else:
        pytest.fail("the scan never started building")
    killed = coordinator.process
    killed.send_signal(signal.SIGKILL)
    await scan.done.wait()

    assert scan.status == "failed"
    assert scan.error == "scan process killed by signal SIGKILL"
    assert coordinator.process is None  # until the next scan starts a new worker
    assert not list(cache.path.glob("*.tmp"))
    body = await (await client.get("/api/files")).json()
    assert (body["generation"], body["total"]) == (1, 7)
    status = await (await client.get("/api/status")).json()
    assert (status["last_scan"]["status"], status["generation"]) == ("failed", 1)
    assert sorted(p.name for p in cache.path.iterdir() if p.name.startswith("gen-")) == [
        "gen-000001.db"
    ]
    # and the next scan works, in a new worker
    body = await rescan(client)
    assert (body["status"], body["files"]) == ("published", 10_007)
    assert coordinator.process.pid != killed.pid


def published(tmp_path: Path) -> tuple[Path, CacheDir]:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    return root, cache


async def test_stray_temp_file_is_deleted_at_startup(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = published(tmp_path)
    (cache.path / "gen-000007.db.tmp").write_bytes(b"half a build")
    client = await started(settings_for(root), LeaderOptions(startup_scan=False))
    assert not (cache.path / "gen-000007.db.tmp").exists()
    assert (await (await client.get("/api/tags")).json())["generation"] == 1


async def test_truncated_current_db_is_set_aside_and_rebuilt(
    aiohttp_client,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = published(tmp_path)
    target = cache.gen_path(1)
    size = target.stat().st_size
    with open(target, "r+b") as f:
        f.truncate(size // 2)

    app = make_app(settings_for(root))
    client = await aiohttp_client(app)
    aside = [p.name for p in cache.path.glob("*.corrupt")]
    assert len(aside) == 1 and aside[0].startswith("gen-000001.db.")
    await app[COORDINATOR].wait_idle()
    body = await (await client.get("/api/files")).json()
    assert (body["generation"], body["total"]) == (2, 7)
    assert os.readlink(cache.current) == "gen-000002.db"


async def test_garbage_current_db_is_set_aside(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = published(tmp_path)
    cache.gen_path(1).write_bytes(b"this is not a database" * 100)
    client = await started(settings_for(root))
    assert len(list(cache.path.glob("*.corrupt"))) == 1
    assert (await (await client.get("/api/tags")).json())["generation"] == 2


async def test_outdated_schema_is_set_aside_and_rebuilt(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = published(tmp_path)
    conn = sqlite3.connect(cache.gen_path(1))
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    client = await started(settings_for(root))
    assert len(list(cache.path.glob("*.outdated"))) == 1
    body = await (await client.get("/api/tags")).json()
    assert body["generation"] == 2


async def test_current_db_pointing_at_a_missing_file_is_rebuilt(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = published(tmp_path)
    cache.gen_path(1).unlink()
    client = await started(settings_for(root))
    assert (await (await client.get("/api/tags")).json())["generation"] == 2


async def test_valid_index_is_served_before_the_startup_scan_ends(
    aiohttp_client,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, _ = published(tmp_path)

    app = make_app(settings_for(root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    assert app[LIBRARY].generation == 1
    assert (await client.get("/api/files")).status == 200


async def test_missing_root_fails_the_scan_and_keeps_serving(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root, _ = published(tmp_path)
    client = await started(settings_for(root))
    root.rename(tmp_path / "unmounted")
    body = await rescan(client)
    assert body["status"] == "failed"
    assert body["error"].startswith(f"cannot read the library root {root}")
    files = await (await client.get("/api/files")).json()
    assert (files["generation"], files["total"]) == (1, 7)


async def test_disk_full_fails_the_scan_and_keeps_serving(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """The scan process hits a full disk (a size cap on the file, as SQLite sees ENOSPC)."""
    root, cache = published(tmp_path)
    command = worker_command(
        tmp_path,
        "from mediasrv.index import db\n"
        "real = db.connect_build\n"
        "def capped(path):\n"
        "    conn = real(path)\n"
        "    conn.execute('PRAGMA max_page_count = 8')\n"
        "    return conn\n"
        "db.connect_build = capped\n",
    )
    client = await started(settings_for(root), LeaderOptions(scan_command=command))
    make_tree(root, {f"more/{i}.jpg": "x" for i in range(300)})
    body = await rescan(client)
    assert body["status"] == "failed"
    assert body["error"].startswith("the disk is full")
    assert (await (await client.get("/api/tags")).json())["generation"] == 1
    assert not list(cache.path.glob("*.tmp"))


async def test_damaged_page_found_after_startup_is_set_aside_and_rebuilt(
    aiohttp_client,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Start-up serves at once after the cheap checks; the full check runs behind it."""
    root = make_tree(tmp_path / "lib", {f"d{i % 20}/f{i}.jpg": "" for i in range(3000)})
    cache = CacheDir(tmp_path / "cache")
    # A first walk slower than progressive.FIRST_AFTER_S (a loaded machine) publishes a part
    # first: the complete index is the scan's last generation.
    number = run_scan(root, cache).generation
    target = cache.gen_path(number)
    size = target.stat().st_size
    with open(target, "r+b") as f:  # scribble over pages in the middle of the file
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\xa5" * 4096 * 4)

    app = make_app(settings_for(root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    assert app[LIBRARY].generation == number  # served at once
    coordinator = app[COORDINATOR]
    await coordinator._verify_task
    await coordinator.wait_idle()
    assert len(list(cache.path.glob(f"gen-{number:06d}.db.*.corrupt"))) == 1
    body = await (await client.get("/api/files")).json()
    # Rebuilt as a first walk, which may publish a part before the whole.
    assert body["generation"] > number and body["total"] == 3000
    assert body.get("complete", True) is True
