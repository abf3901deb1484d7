"""The watcher: changes on disk reach the API by themselves, and a failed watcher falls back."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from watchfiles import Change

from mediasrv import watcher
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

from .conftest import SMALL_TREE, make_tree

WAIT = 30.0  # generous bound for a change to land; the usual case is about a second


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")
        await asyncio.sleep(0.05)


async def status(client: TestClient) -> dict[str, Any]:
    resp = await client.get("/api/status")
    assert resp.status == 200
    return await resp.json()


async def paths(client: TestClient, tag: str = "All") -> set[str]:
    resp = await client.get("/api/files", params={"tag": tag, "limit": "1000"})
    if resp.status == 404:
        return set()
    body = await resp.json()
    return {f["path"] for f in body["files"]}


async def tags(client: TestClient) -> set[str]:
    body = await (await client.get("/api/tags")).json()
    return {t["name"] for t in body["tags"]}


async def watching(client: TestClient, state: str = "watching") -> None:
    async def ready() -> bool:
        return (await status(client))["watcher"]["state"] == state

    await until(ready, f"the watcher to be {state}")


@pytest.fixture
async def live(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> tuple[TestClient, Path]:
    """A server watching a small library, ready to see changes."""
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, watch=True))
    await watching(client)
    return client, root


# -- the filter -------------------------------------------------------------


@pytest.mark.parametrize(("path", "kept"), [
    ("/lib/a.jpg", True),
    ("/lib/Trips/2024/b.jpg", True),
    ("/lib/Trips", True),
    ("/lib/.hidden.jpg", False),
    ("/lib/.git/objects/ab", False),
    ("/lib/Trips/.thumbs/c.jpg", False),
    ("/lib/cache/gen-000002.db", False),
    ("/lib/cache", False),
    ("/lib/cachet/d.jpg", True),
])
def test_filter_drops_hidden_entries_and_the_cache_dir(path: str, kept: bool) -> None:
    keep = watcher.ChangeFilter("/lib", ["/lib/cache"])
    assert keep(Change.added, path) is kept


# -- changes reach the API --------------------------------------------------


async def test_status_says_the_watcher_is_watching(live: tuple[TestClient, Path]) -> None:
    client, _ = live
    assert (await status(client))["watcher"] == {"state": "watching", "error": None}


async def test_status_says_the_watcher_is_off(
    started: Callable[..., Any], settings_for: Callable[..., Settings], library: Path
) -> None:
    client = await started(settings_for(library, watch=False))
    assert (await status(client))["watcher"] == {"state": "off", "error": None}


async def test_an_added_file_shows_up(live: tuple[TestClient, Path]) -> None:
    client, root = live
    make_tree(root, {"Trips/2024/Beach/new.jpg": b"new"})

    async def seen() -> bool:
        return "Trips/2024/Beach/new.jpg" in await paths(client)

    await until(seen, "the new file")
    assert (await status(client))["last_scan"]["reasons"] == ["watch"]


async def test_a_modified_file_shows_its_new_size(live: tuple[TestClient, Path]) -> None:
    client, root = live
    (root / "notes.txt").write_bytes(b"longer now" * 100)

    async def size() -> bool:
        body = await (await client.get("/api/file", params={"path": "notes.txt"})).json()
        return body["file"]["size"] == 1000

    await until(size, "the new size")


async def test_a_renamed_file_moves(live: tuple[TestClient, Path]) -> None:
    client, root = live
    os.rename(root / "Music/song.mp3", root / "Music/tune.mp3")

    async def moved() -> set[str]:
        found = await paths(client, "Music")
        return found if found == {"Music/tune.mp3"} else set()

    await until(moved, "the renamed file")


async def test_a_deleted_file_disappears(live: tuple[TestClient, Path]) -> None:
    client, root = live
    (root / "Trips/2024/Beach/img2.jpg").unlink()

    async def gone() -> bool:
        return "Trips/2024/Beach/img2.jpg" not in await paths(client)

    await until(gone, "the file to disappear")
    assert len(await paths(client)) == 6


async def test_an_added_folder_becomes_a_tag(live: tuple[TestClient, Path]) -> None:
    client, root = live
    make_tree(root, {"Pets/Cats/tom.jpg": b"t", "Pets/Cats/kit.png": b"k"})

    async def tagged() -> set[str]:
        return await paths(client, "Cats")

    assert await until(tagged, "the new tag") == {"Pets/Cats/tom.jpg", "Pets/Cats/kit.png"}


async def test_a_renamed_folder_renames_its_tag(live: tuple[TestClient, Path]) -> None:
    client, root = live
    os.rename(root / "Trips/2023/Lake", root / "Trips/2023/Pond")

    async def renamed() -> bool:
        found = await tags(client)
        return "Pond" in found and "Lake" not in found

    await until(renamed, "the renamed tag")
    assert await paths(client, "Pond") == {"Trips/2023/Pond/clip.mp4"}


async def test_a_deleted_folder_takes_its_tags_away(live: tuple[TestClient, Path]) -> None:
    client, root = live
    shutil.rmtree(root / "Trips")

    async def gone() -> set[str]:
        found = await tags(client)
        return found if "Trips" not in found else set()

    assert await until(gone, "the tags to go") == {"All", "Music"}


async def test_hidden_files_and_an_inner_cache_dir_start_no_scan(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    # A cache dir inside the root: if its writes were seen, every scan would start another.
    client = await started(settings_for(root, watch=True, cache_dir=root / "index"))
    await watching(client)
    coordinator = client.app[COORDINATOR]
    make_tree(root, {".hidden.jpg": b"h", "Trips/.partial/x.jpg": b"x"})
    make_tree(root, {"seen.jpg": b"s"})

    async def seen() -> bool:
        return "seen.jpg" in await paths(client)

    await until(seen, "the visible file")
    await coordinator.wait_idle()
    runs = coordinator.scans_run
    await asyncio.sleep(2.0)  # several watch batches' worth of time
    await coordinator.wait_idle()
    assert coordinator.scans_run == runs
    assert ".hidden.jpg" not in await paths(client)


async def test_a_burst_of_files_leads_to_one_or_two_rescans(
    live: tuple[TestClient, Path],
) -> None:
    client, root = live
    coordinator = client.app[COORDINATOR]
    before = coordinator.scans_run
    burst = {f"Burst/{i // 100:02}/img{i:04}.jpg": b"x" for i in range(1000)}
    await asyncio.to_thread(make_tree, root, burst)

    async def counted() -> bool:
        body = await (await client.get("/api/files", params={"tag": "Burst", "limit": "1"})).json()
        return body.get("total") == 1000

    await until(counted, "all 1000 files")
    await coordinator.wait_idle()
    assert 1 <= coordinator.scans_run - before <= 2


async def test_polling_sees_an_added_file(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, watch=True, force_polling=True))
    await watching(client, "polling")
    make_tree(root, {"polled.jpg": b"p"})

    async def seen() -> bool:
        return "polled.jpg" in await paths(client)

    await until(seen, "the polled file")


# -- a watcher that cannot run ----------------------------------------------


def failing_watch_process(error: str) -> Callable[[str, list[str], bool], list[str]]:
    """The real watch process, with a notifier that raises ``error`` (Python source) at set-up."""
    code = (
        "import sys, watchfiles.main\n"
        "def refuse(*args, **kwargs):\n"
        f"    raise {error}\n"
        "watchfiles.main.RustNotify = refuse\n"
        "from mediasrv.watcher import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return lambda root, ignore, polling: [sys.executable, "-c", code, root, *ignore]


async def test_a_failed_watcher_falls_back_to_interval_rescans(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    # --rescan-interval 0 (never): the fallback still rescans.
    client = await started(
        settings_for(root, watch=True, rescan_interval=0.0),
        components=[functools.partial(
            watcher.setup, fallback_interval=0.3,
            command=failing_watch_process("OSError(28, 'inotify watch limit reached')"))],
    )
    await watching(client, "failed")
    state = (await status(client))["watcher"]
    assert state["error"] == ("inotify watch limit reached (raise fs.inotify.max_user_watches, "
                              "or use --force-polling)")
    assert state["fallback_interval_s"] == 0.3
    make_tree(root, {"later.jpg": b"l"})

    async def seen() -> bool:
        return "later.jpg" in await paths(client)

    await until(seen, "the file found by an interval rescan")
    assert "interval (watcher failed)" in (await status(client))["last_scan"]["reasons"]


async def test_a_failed_watcher_keeps_a_shorter_configured_interval(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    # As watchfiles words a full inotify watch table.
    refuse = failing_watch_process("OSError('Error { kind: MaxFilesWatch, paths: [] }')")
    client = await started(settings_for(root, watch=True, rescan_interval=0.3),
                           components=[functools.partial(watcher.setup, command=refuse)])
    await watching(client, "failed")
    state = (await status(client))["watcher"]
    assert state["fallback_interval_s"] == 0.3
    assert state["error"].startswith("inotify watch limit reached")
    make_tree(root, {"later.jpg": b"l"})

    async def seen() -> bool:
        return "later.jpg" in await paths(client)

    await until(seen, "the file found by an interval rescan")
    assert (await status(client))["last_scan"]["reasons"] == ["interval"]
    warnings = [r for r in caplog.records if r.name == "mediasrv.watcher"]
    assert len(warnings) == 1
    assert "rescanning every 0.3s instead" in warnings[0].getMessage()


# -- progress and deleted files ---------------------------------------------


async def test_events_carry_the_probing_phase_with_counts(
    started: Callable[..., Any], settings_for: Callable[..., Settings], library: Path
) -> None:
    client = await started(settings_for(library))
    resp = await client.get("/api/events")
    make_tree(library, {"Trips/one.jpg": b"1", "Trips/two.jpg": b"2"})
    await client.post("/api/rescan")
    progress: list[dict[str, Any]] = []

    async def read() -> dict[str, Any]:
        event = None
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("progress", "finished"):
                scan = json.loads(line[6:])["scan"]
                if event == "finished":
                    return scan
                progress.append(scan)
        raise AssertionError("the event stream ended")

    finished = await asyncio.wait_for(read(), WAIT)
    resp.close()
    probing = [(s["phase_done"], s["phase_total"]) for s in progress if s["phase"] == "probing"]
    assert probing[-1] == (2, 2)
    assert finished["probe"]["candidates"] == 2
    assert (finished["added"], finished["status"]) == (2, "published")


async def test_random_never_offers_a_deleted_file_before_the_rescan(
    started: Callable[..., Any], settings_for: Callable[..., Settings], library: Path
) -> None:
    client = await started(settings_for(library))
    generation = (await status(client))["generation"]
    beach = library / "Trips/2024/Beach"
    for name in ("img1.jpg", "img2.jpg", "sunset[beach family].jpg"):
        (beach / name).unlink()
    answers = []
    for _ in range(30):
        resp = await client.get("/api/random", params={"tag": "Beach"})
        assert resp.status == 200
        answers.append(await resp.json())
    assert answers[0]["generation"] == generation  # the deletions were not rescanned yet
    assert {a["file"]["path"] for a in answers} == {"Trips/2024/Beach/img10.jpg"}
