"""The watcher in the server: changes on disk reach the API by themselves, whatever
the names; a failed watch restarts, and repeated failures fall back loudly."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.names import url_unquote
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR, LEADER
from mediasrv.settings import Settings

from .conftest import SMALL_TREE, make_tree, paths, status, until

# The promise: a change is in the API within 2 s (a deadline, not a measurement).
PROMPT = 2.0
Requests = list[tuple[str, list[str] | None]]


async def tags(client: TestClient) -> set[str]:
    body = await (await client.get("/api/tags")).json()
    return {t["name"] for t in body["tags"]}


async def raw_paths(client: TestClient) -> set[bytes]:
    """Every indexed path, as the bytes of its name on disk."""
    body = await (await client.get("/api/files", params={"tag": "All", "limit": "1000"})).json()
    return {os.fsencode(url_unquote(f["url"].removeprefix("/media/"))) for f in body["files"]}


async def watcher_state(client: TestClient, state: str = "watching", **fields: Any) -> None:
    async def reached() -> bool:
        entry = (await status(client))["watcher"]
        return entry["state"] == state and all(entry[k] == v for k, v in fields.items())

    await until(reached, f"the watcher to be {state} {fields or ''}")


def spy(client: TestClient) -> Requests:
    """Every (reason, paths) the coordinator is asked for from now on."""
    coordinator = client.app[COORDINATOR]
    calls: Requests = []
    request = coordinator.request

    def recording(reason: str, *, paths: Any = None) -> Any:
        calls.append((reason, None if paths is None else list(paths)))
        return request(reason, paths=paths)

    coordinator.request = recording  # type: ignore[method-assign]
    return calls


@pytest.fixture
async def live(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> tuple[TestClient, Path]:
    """A server watching a small library, ready to see changes."""
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, watch=True))
    await watcher_state(client)
    return client, root


# -- status -----------------------------------------------------------------


async def test_status_says_the_watcher_is_watching(live: tuple[TestClient, Path]) -> None:
    client, _ = live
    assert (await status(client))["watcher"] == {
        "state": "watching", "backend": "inotify", "error": None, "restarts": 0,
        "fallback_interval_s": None,
    }


async def test_status_says_the_watcher_is_off(
    started: Callable[..., Any], settings_for: Callable[..., Settings], library: Path
) -> None:
    client = await started(settings_for(library, watch=False))
    assert (await status(client))["watcher"] == {
        "state": "off", "backend": None, "error": None, "restarts": 0, "fallback_interval_s": None,
    }


# -- changes reach the API --------------------------------------------------


async def test_an_added_file_shows_up_and_names_its_path(live: tuple[TestClient, Path]) -> None:
    client, root = live
    calls = spy(client)
    make_tree(root, {"Trips/2024/Beach/new.jpg": b"new"})

    async def seen() -> bool:
        return "Trips/2024/Beach/new.jpg" in await paths(client)

    await until(seen, "the new file")
    assert (await status(client))["last_scan"]["reasons"] == ["watch"]
    assert calls[0] == ("watch", ["Trips/2024/Beach/new.jpg"])


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

    assert await until(gone, "the tags to go") == {"All", "Favourites", "Music"}


async def test_a_folder_removed_and_made_again_is_still_watched(
    live: tuple[TestClient, Path],
) -> None:
    client, root = live
    shutil.rmtree(root / "Music")
    (root / "Music").mkdir()
    make_tree(root, {"Music/Later/again.mp3": b"a"})

    async def seen() -> bool:
        return await paths(client, "Music") == {"Music/Later/again.mp3"}

    await until(seen, "the file in the re-made folder")
    make_tree(root, {"Music/Later/more.mp3": b"m"})

    async def more() -> bool:
        return "Music/Later/more.mp3" in await paths(client, "Music")

    await until(more, "a second file in the re-made folder")


async def test_hidden_files_and_an_inner_cache_dir_start_no_scan(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    # A cache dir inside the root: if its writes were seen, every scan would start another.
    client = await started(settings_for(root, watch=True, cache_dir=root / "index"))
    await watcher_state(client)
    coordinator = client.app[COORDINATOR]
    calls = spy(client)
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
    assert calls == [("watch", ["seen.jpg"])]


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
    await watcher_state(client, "polling", backend="polling")
    make_tree(root, {"polled.jpg": b"p"})

    async def seen() -> bool:
        return "polled.jpg" in await paths(client)

    await until(seen, "the polled file")


# -- names that are not UTF-8 -------------------------------------------------

ODD_TREE: dict[str | bytes, bytes | str] = {
    **SMALL_TREE,
    b"bad\xffname.jpg": b"odd",
    b"caf\xe9/\xff.jpg": b"folder odd",
    b"caf\xe9/plain.jpg": b"plain in an odd folder",
}


async def test_names_that_are_not_utf8_never_stop_the_watcher(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    broot = os.fsencode(root)
    client = await started(settings_for(root, watch=True))
    await watcher_state(client)
    calls = spy(client)
    in_odd_folder = await client.get("/media/caf%E9/%FF.jpg")
    assert (in_odd_folder.status, await in_odd_folder.read()) == (200, b"folder odd")

    async def read_odd_file(content: bytes = b"odd") -> None:  # it used to end the watch
        resp = await client.get("/media/bad%FFname.jpg")
        assert (resp.status, await resp.read()) == (200, content)

    async def lands(change: Callable[[], object], expect: Callable[[set[bytes]], bool],
                    what: str, named: bytes) -> None:
        await read_odd_file()
        change()

        async def landed() -> bool:
            return expect(await raw_paths(client))

        await until(landed, what, timeout=PROMPT)
        entry = (await status(client))["watcher"]
        assert (entry["state"], entry["restarts"]) == ("watching", 0)
        assert any(named in [os.fsencode(p) for p in ps or ()] for _, ps in calls), calls

    def write(rel: bytes, data: bytes = b"x") -> None:
        with open(os.path.join(broot, rel), "wb") as f:
            f.write(data)

    def rename(old: bytes, new: bytes) -> None:
        os.rename(os.path.join(broot, old), os.path.join(broot, new))

    await lands(lambda: write(b"new.jpg"), lambda p: b"new.jpg" in p, "a new file", b"new.jpg")
    await lands(lambda: write(b"caf\xe9/n\xe9w.jpg"), lambda p: b"caf\xe9/n\xe9w.jpg" in p,
                "a new odd file in an odd folder", b"caf\xe9/n\xe9w.jpg")
    await lands(lambda: rename(b"new.jpg", b"ren\xe9med.jpg"),
                lambda p: b"ren\xe9med.jpg" in p and b"new.jpg" not in p,
                "a file renamed to an odd name", b"ren\xe9med.jpg")
    await lands(lambda: rename(b"caf\xe9", b"caf\xe8"),
                lambda p: b"caf\xe8/\xff.jpg" in p and b"caf\xe9/\xff.jpg" not in p,
                "an odd folder renamed", b"caf\xe9")
    await lands(lambda: os.unlink(os.path.join(broot, b"ren\xe9med.jpg")),
                lambda p: b"ren\xe9med.jpg" not in p, "an odd file deleted", b"ren\xe9med.jpg")
    await lands(lambda: os.unlink(os.path.join(broot, b"notes.txt")),
                lambda p: b"notes.txt" not in p, "a plain file deleted", b"notes.txt")

    async def size_of_odd_file() -> int:
        resp = await client.get("/api/file?path=bad%FFname.jpg")
        return (await resp.json())["file"]["size"]

    write(b"bad\xffname.jpg", b"modified!")
    write(b"Music/song.mp3", b"a longer song")

    async def modified() -> bool:
        song = await (await client.get("/api/file?path=Music/song.mp3")).json()
        return await size_of_odd_file() == 9 and song["file"]["size"] == 13

    await until(modified, "the new sizes", timeout=PROMPT)
    await read_odd_file(b"modified!")
    assert (await status(client))["watcher"]["state"] == "watching"


# -- a watch that fails -------------------------------------------------------------


def injected(tmp_path: Path, failures: int | None, error: str) -> Any:
    """The real watch process, whose notifier raises ``error`` (Python source) at set-up
    the first ``failures`` times it starts (every time: None)."""
    counter = tmp_path / "starts"
    script = tmp_path / "failing_watch.py"
    script.write_text(
        "import os, sys\n"
        "from mediasrv.watch import inotify, process\n"
        f"counter = {str(counter)!r}\n"
        "starts = int(open(counter).read()) if os.path.exists(counter) else 0\n"
        "open(counter, 'w').write(str(starts + 1))\n"
        f"if {failures!r} is None or starts < {failures!r}:\n"
        "    def refuse(self):\n"
        f"        raise {error}\n"
        "    inotify.TreeWatch.start = refuse\n"
        "sys.exit(process.main(sys.argv[1:]))\n"
    )
    return lambda root, ignore, polling: [sys.executable, str(script), "--", root, *ignore]


async def test_a_killed_watch_process_restarts_with_one_catch_up_rescan(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, watch=True),
                           LeaderOptions(watch_backoff=0.05))
    await watcher_state(client)
    coordinator = client.app[COORDINATOR]
    calls = spy(client)
    runs = coordinator.scans_run
    first = client.app[LEADER].watcher.process
    assert first is not None
    first.send_signal(signal.SIGKILL)
    make_tree(root, {"while_down.jpg": b"w"})  # maybe unseen by any watch: the catch-up finds it
    await watcher_state(client, restarts=1)
    assert client.app[LEADER].watcher.process is not first

    async def seen() -> bool:
        return "while_down.jpg" in await paths(client)

    await until(seen, "the file made while no watch ran")
    await coordinator.wait_idle()
    assert [c for c in calls if c[1] is None] == [("watch", None)]
    assert coordinator.scans_run - runs in (1, 2)  # the catch-up, and maybe the file's batch
    make_tree(root, {"after.jpg": b"a"})

    async def after() -> bool:
        return "after.jpg" in await paths(client)

    await until(after, "a file made after the restart")
    assert calls[-1] == ("watch", ["after.jpg"])


async def test_injected_errors_restart_the_watch_with_a_backoff(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    command = injected(tmp_path, 2, "OSError(5, 'Input/output error')")
    client = await started(settings_for(root, watch=True),
                           LeaderOptions(watch_command=command, watch_backoff=0.05))
    await watcher_state(client, restarts=2)
    delays = [r.getMessage().rsplit(" ", 1)[1] for r in caplog.records
              if r.name == "mediasrv.watch.watcher" and "restarting" in r.getMessage()]
    assert delays == ["0.05s", "0.1s"]
    make_tree(root, {"later.jpg": b"l"})

    async def seen() -> bool:
        return "later.jpg" in await paths(client)

    await until(seen, "a file seen by the third watch process")


async def test_a_removed_root_is_watched_again_once_it_is_back(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    client = await started(settings_for(root, watch=True), LeaderOptions(watch_backoff=0.2))
    await watcher_state(client)
    shutil.rmtree(root)
    await watcher_state(client, "restarting")
    make_tree(root, {"back.jpg": b"b"})
    await watcher_state(client)

    async def seen() -> bool:
        return await paths(client) == {"back.jpg"}

    await until(seen, "the re-made root's file")


async def test_repeated_failures_fall_back_to_interval_rescans_loudly(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    command = injected(tmp_path, None, "OSError(28, 'No space left on device')")
    # --rescan-interval 0 (never): the fallback still rescans.
    client = await started(
        settings_for(root, watch=True, rescan_interval=0.0),
        LeaderOptions(watch_command=command, watch_backoff=0.01, watch_max_failures=3,
                      fallback_interval=0.3),
    )
    await watcher_state(client, "failed")
    assert (await status(client))["watcher"] == {
        "state": "failed", "backend": None, "restarts": 2, "fallback_interval_s": 0.3,
        "error": "inotify watch limit reached (raise fs.inotify.max_user_watches, "
                 "or use --force-polling)",
    }
    assert int((tmp_path / "starts").read_text()) == 3
    (warning,) = [r for r in caplog.records if r.name == "mediasrv.serve.leader"]
    assert warning.getMessage().endswith(
        "(inotify watch limit reached (raise fs.inotify.max_user_watches, or use "
        "--force-polling)); rescanning every 0.3s instead")
    make_tree(root, {"later.jpg": b"l"})

    async def seen() -> bool:
        return "later.jpg" in await paths(client)

    await until(seen, "the file found by an interval rescan")
    assert "interval (watcher failed)" in (await status(client))["last_scan"]["reasons"]


async def test_a_failed_watcher_keeps_a_shorter_configured_interval(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    # As watchfiles words a full inotify watch table.
    command = injected(tmp_path, None, "OSError('Error { kind: MaxFilesWatch, paths: [] }')")
    client = await started(
        settings_for(root, watch=True, rescan_interval=0.3),
        LeaderOptions(watch_command=command, watch_backoff=0.01, watch_max_failures=2),
    )
    await watcher_state(client, "failed")
    state = (await status(client))["watcher"]
    assert state["fallback_interval_s"] == 0.3
    assert state["error"].startswith("inotify watch limit reached")
    make_tree(root, {"later.jpg": b"l"})

    async def seen() -> bool:
        return "later.jpg" in await paths(client)

    await until(seen, "the file found by an interval rescan")
    assert (await status(client))["last_scan"]["reasons"] == ["interval"]


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

    finished = await asyncio.wait_for(read(), 30)
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


async def test_begin_stop_ends_the_watch_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stopping server ends the watch process at once (its stdin), and nothing restarts it."""
    from mediasrv.watch.watcher import Watcher

    states: list[str] = []
    watcher = Watcher(make_tree(tmp_path / "lib", SMALL_TREE), on_changes=lambda paths: None,
                      on_state=lambda state: states.append(state["state"]))
    task = asyncio.get_running_loop().create_task(watcher.run())
    while states[-1:] != ["watching"]:
        await asyncio.sleep(0.01)
    proc = watcher.process
    assert proc is not None
    watcher.begin_stop()
    await asyncio.wait_for(task, 30)  # returns by itself: no cancel needed
    assert (proc.returncode, states, watcher.process) == (0, ["watching"], None)
    assert [r for r in caplog.records if r.levelno >= 30] == []
