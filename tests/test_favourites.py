"""Favourites: stars that outlive every generation, the Favourites tag, and moved files."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.errors import UserError
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan import moves
from mediasrv.scan.job import run_scan
from mediasrv.settings import Settings
from mediasrv.userdata.favourites import FILE_NAME, Favourites

from .support import make_tree, rescan, status, until

BEACH = "Trips/2024/Beach"


async def star(client: TestClient, path: str, on: bool = True, **headers: str) -> Any:
    resp = await (client.put if on else client.delete)(
        f"/api/favourites?path={path}", headers=headers)
    return resp.status, await resp.json()


async def starred(client: TestClient) -> list[str]:
    body = await (await client.get("/api/files?tag=Favourites&limit=1000")).json()
    assert body["total"] == len(body["files"])
    assert all(f["favourite"] for f in body["files"])
    return [f["path"] for f in body["files"]]


async def flag(client: TestClient, path: str) -> bool:
    body = await (await client.get("/api/file", params={"path": path})).json()
    return bool(body["file"]["favourite"])


def favourites_db(cache: Path) -> sqlite3.Connection:
    return sqlite3.connect(cache / FILE_NAME)


# -- starring --------------------------------------------------------------------


async def test_a_star_shows_on_the_file_everywhere(client: TestClient) -> None:
    assert await star(client, f"{BEACH}/img2.jpg") == (
        200, {"generation": 1, "path": f"{BEACH}/img2.jpg", "favourite": True})
    assert await flag(client, f"{BEACH}/img2.jpg")
    assert not await flag(client, f"{BEACH}/img1.jpg")
    page = await (await client.get("/api/files?tag=Beach")).json()
    assert [f["favourite"] for f in page["files"]] == [False, True, False, False]
    near = await (await client.get(f"/api/file?path={BEACH}/img1.jpg&tag=Beach")).json()
    assert (near["file"]["favourite"], near["next"]["favourite"]) == (False, True)
    found = await (await client.get("/api/search?q=img2")).json()  # img, 2: "2024" too
    assert {f["name"]: f["favourite"] for f in found["files"]} == {
        "img1.jpg": False, "img2.jpg": True, "img10.jpg": False}


async def test_starring_twice_and_unstarring_twice_are_fine(client: TestClient) -> None:
    for _ in range(2):
        assert (await star(client, "notes.txt"))[0] == 200
    assert await starred(client) == ["notes.txt"]
    for _ in range(2):
        assert await star(client, "notes.txt", on=False) == (
            200, {"generation": 1, "path": "notes.txt", "favourite": False})
    assert await starred(client) == []


@pytest.mark.parametrize(("path", "status", "code"), [
    ("nope.jpg", 404, "unknown_file"), ("", 400, "bad_parameter"),
    ("Trips", 404, "unknown_file"),  # a folder is not a file
])
async def test_only_indexed_files_get_a_star(client: TestClient, path: str, status: int,
                                             code: str) -> None:
    got, body = await star(client, path)
    assert (got, body["error"]["code"]) == (status, code)
    assert await starred(client) == []


async def test_writes_from_another_site_are_refused(client: TestClient) -> None:
    got, body = await star(client, "notes.txt", Origin="http://evil.example")
    assert (got, body["error"]["code"]) == (403, "forbidden_origin")
    got, _ = await star(client, "notes.txt", on=False, **{"Sec-Fetch-Site": "cross-site"})
    assert got == 403
    assert await starred(client) == []


async def test_with_a_token_a_star_needs_it(started: Callable[..., Any], lib_root: Path,
                                            settings_for: Callable[..., Settings]) -> None:
    client = await started(settings_for(lib_root, token="s3cret-0123456789"))
    assert (await star(client, "notes.txt"))[0] == 401
    got, _ = await star(client, "notes.txt", Authorization="Bearer s3cret-0123456789")
    assert got == 200


# -- the Favourites tag ------------------------------------------------------------


async def test_favourites_tag_lists_stars_in_natural_order_with_a_count(
    client: TestClient,
) -> None:
    for path in ["notes.txt", f"{BEACH}/img10.jpg", "Music/song.mp3", f"{BEACH}/img2.jpg"]:
        await star(client, path)
    assert await starred(client) == [  # as in All
        "Music/song.mp3", "notes.txt", f"{BEACH}/img2.jpg", f"{BEACH}/img10.jpg"]
    tags = (await (await client.get("/api/tags")).json())["tags"]
    assert tags[:2] == [{"name": "All", "count": 7}, {"name": "Favourites", "count": 4}]
    body = await (await client.get("/api/files?tag=Favourites&offset=1&limit=2")).json()
    assert (body["total"], [f["name"] for f in body["files"]]) == (4, ["notes.txt", "img2.jpg"])


async def test_favourites_tag_steps_picks_and_searches(client: TestClient) -> None:
    stars = [f"{BEACH}/img1.jpg", f"{BEACH}/img2.jpg", f"{BEACH}/img10.jpg"]
    for path in stars:
        await star(client, path)
    near = await (await client.get(f"/api/file?path={BEACH}/img2.jpg&tag=Favourites")).json()
    assert (near["position"], near["total"], near["prev"]["name"], near["next"]["name"]) == (
        1, 3, "img1.jpg", "img10.jpg")
    outside = await client.get("/api/file?path=notes.txt&tag=Favourites")
    assert (outside.status, (await outside.json())["error"]["code"]) == (404, "unknown_file")
    picks = {(await (await client.get("/api/random?tag=Favourites")).json())["file"]["path"]
             for _ in range(20)}
    assert picks <= set(stars)
    found = await (await client.get("/api/search?q=beach%20IMG1&tag=Favourites")).json()
    assert [f["name"] for f in found["files"]] == ["img1.jpg", "img10.jpg"]
    assert (await (await client.get("/api/search?q=&tag=Favourites")).json())["files"] == []


async def test_a_grid_page_shows_the_star_of_a_starred_file(client: TestClient) -> None:
    # The grid's tiles are written by SQLite as not starred; the starred one is rewritten.
    await star(client, f"{BEACH}/img2.jpg")
    html = await (await client.get("/tag/Beach")).text()
    stars = re.findall(r'class="star( on)?" data-api="/api/favourites\?path=([^"]+)"'
                       r' aria-pressed="(true|false)"', html)
    assert stars == [("", f"{BEACH}/img1.jpg", "false"), (" on", f"{BEACH}/img2.jpg", "true"),
                     ("", f"{BEACH}/img10.jpg", "false"),
                     ("", f"{BEACH}/sunset%5Bbeach%20family%5D.jpg", "false")]


async def test_favourites_pages(client: TestClient) -> None:
    await star(client, f"{BEACH}/img10.jpg")
    grid = await client.get("/tag/Favourites")
    assert grid.status == 200
    assert "img10.jpg" in await grid.text()
    view = await client.get(f"/view/Favourites/{BEACH}/img10.jpg")
    assert view.status == 200
    assert 'aria-pressed="true"' in await view.text()
    pick = await client.get("/random/Favourites", allow_redirects=False)
    assert pick.headers["Location"] == f"/view/Favourites/{BEACH}/img10.jpg"


async def test_a_folder_named_favourites_is_hidden_behind_the_stars(
    started: Callable[..., Any], tmp_path: Path, settings_for: Callable[..., Settings],
) -> None:
    root = make_tree(tmp_path / "lib", {"Favourites/a.jpg": b"a", "b.jpg": b"b"})
    client = await started(settings_for(root))
    await star(client, "b.jpg")
    tags = (await (await client.get("/api/tags")).json())["tags"]
    assert [t["name"] for t in tags] == ["All", "Favourites"]
    assert await starred(client) == ["b.jpg"]


# -- stars outlive generations -------------------------------------------------------


async def test_stars_survive_rescans_and_a_full_rebuild(
    client: TestClient, lib_root: Path, tmp_path: Path,
) -> None:
    await star(client, f"{BEACH}/img2.jpg")
    make_tree(lib_root, {"Music/new.mp3": b"new"})
    assert (await rescan(client))["mode"] == "delta"
    (lib_root / "notes.txt").unlink()
    await rescan(client)
    # A full rebuild by `mediasrv scan --full`, which the server then serves.
    full = await asyncio.to_thread(run_scan, lib_root, CacheDir(tmp_path / "cache"), full=True)
    assert full.mode == "full"
    assert (await rescan(client))["generation"] == full.generation
    assert await starred(client) == [f"{BEACH}/img2.jpg"]
    assert await flag(client, f"{BEACH}/img2.jpg")


async def test_stars_survive_deleted_generations(
    started: Callable[..., Any], lib_root: Path, tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    client = await started(settings_for(lib_root))
    await star(client, "Music/song.mp3")
    await client.close()
    cache = tmp_path / "cache"
    for generation in cache.glob("gen-*.db"):
        generation.unlink()
    (cache / "current.db").unlink()
    again = await started(settings_for(lib_root))
    assert (await status(again))["generation"] is not None
    assert await starred(again) == ["Music/song.mp3"]


async def test_a_star_of_a_deleted_file_waits_for_it_to_come_back(
    client: TestClient, lib_root: Path,
) -> None:
    await star(client, "notes.txt")
    content = (lib_root / "notes.txt").read_bytes()
    (lib_root / "notes.txt").unlink()
    await rescan(client)
    assert await starred(client) == []
    make_tree(lib_root, {"notes.txt": content + b" edited"}, mtime=None)
    await rescan(client)
    assert await starred(client) == ["notes.txt"]


async def test_a_star_of_a_file_gone_for_good_can_be_taken_away(
    client: TestClient, lib_root: Path, tmp_path: Path,
) -> None:
    await star(client, "notes.txt")
    (lib_root / "notes.txt").unlink()
    await rescan(client)
    assert (await star(client, "notes.txt", on=False))[0] == 200
    with favourites_db(tmp_path / "cache") as conn:
        assert conn.execute("SELECT count(*) FROM favourites").fetchone() == (0,)


# -- moved files keep their stars ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("targeted", [False, True])
async def test_a_renamed_or_moved_file_keeps_its_star(
    client: TestClient, lib_root: Path, targeted: bool,
) -> None:
    await star(client, f"{BEACH}/img2.jpg")
    await star(client, "notes.txt")
    os.rename(lib_root / BEACH / "img2.jpg", lib_root / BEACH / "img2 renamed.jpg")
    (lib_root / "Docs").mkdir()
    os.rename(lib_root / "notes.txt", lib_root / "Docs/notes.txt")
    url = "/api/rescan?wait=1" + (
        f"&path={BEACH}/img2.jpg&path={BEACH}/img2%20renamed.jpg&path=notes.txt&path=Docs"
        if targeted else "")
    assert (await client.post(url)).status == 200
    assert (await status(client))["last_scan"]["moved"] == 2
    assert await starred(client) == ["Docs/notes.txt", f"{BEACH}/img2 renamed.jpg"]
    assert await flag(client, "Docs/notes.txt")


@pytest.mark.slow
async def test_files_that_cannot_be_told_apart_do_not_take_stars_along(
    started: Callable[..., Any], tmp_path: Path, settings_for: Callable[..., Settings],
) -> None:
    root = make_tree(tmp_path / "lib", {"a/1.jpg": b"same", "a/2.jpg": b"same"})
    client = await started(settings_for(root))
    await star(client, "a/1.jpg")
    os.rename(root / "a", root / "b")  # two files of the same size and mtime moved
    await rescan(client)
    assert (await status(client))["last_scan"]["moved"] == 0
    assert await starred(client) == []
    os.rename(root / "b", root / "a")  # back where they were: the star shows again
    await rescan(client)
    assert await starred(client) == ["a/1.jpg"]


def test_a_scan_reports_the_files_that_moved(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"a/x.jpg": b"x", "a/y.jpg": b"yy", "a/z.jpg": b"zz"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    os.rename(root / "a/x.jpg", root / "a/x2.jpg")
    os.rename(root / "a", root / "b")
    full = run_scan(root, cache, full=True)
    # y and z have the same size and mtime: which went where cannot be told.
    assert (full.mode, full.moves) == ("full", [("a/x.jpg", "b/x2.jpg")])
    os.rename(root / "b/x2.jpg", root / "b/x3.jpg")
    assert run_scan(root, cache).moves == [("b/x2.jpg", "b/x3.jpg")]


def test_moves_pair_only_unique_size_and_mtime() -> None:
    removed = [("a", 1, 10), ("b", 2, 10), ("c", 2, 10), ("d", 3, 10)]
    added = [("A", 1, 10), ("B", 2, 10), ("D", 3, 10), ("D2", 3, 10), ("E", 4, 10)]
    assert moves.pair(removed, added) == [("a", "A")]
    assert moves.pair([], added) == []


def test_moves_are_reported_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moves, "MAX_CHARS", 10)
    removed = [(f"old{i}", i, 0) for i in range(5)]
    added = [(f"new{i}", i, 0) for i in range(5)]
    assert moves.pair(removed, added) == [("old0", "new0")]


# -- the database -------------------------------------------------------------------


async def test_names_that_are_not_utf8_and_the_documented_join(
    started: Callable[..., Any], tmp_path: Path, settings_for: Callable[..., Settings],
) -> None:
    root = make_tree(tmp_path / "lib", {b"caf\xe9/\xff.jpg": b"bytes!", "caf\xc3\xa9.jpg": b"ok"})
    client = await started(settings_for(root))
    assert (await star(client, "caf%E9/%FF.jpg"))[0] == 200
    assert await starred(client) == ["caf\udce9/\udcff.jpg"]
    cache = tmp_path / "cache"
    with favourites_db(cache) as conn:
        # a rollback journal: a plain copy of the file holds every star (store.py)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        conn.execute("ATTACH ? AS idx", (str(cache / "current.db"),))
        rows = conn.execute(
            "SELECT hex(coalesce(f.path_bytes, CAST(f.path AS BLOB))), f.size"
            " FROM idx.files AS f JOIN favourites AS v"
            " ON v.path = f.path AND v.path_bytes IS f.path_bytes").fetchall()
    assert rows == [(b"caf\xe9/\xff.jpg".hex().upper(), 6)]


async def test_stars_written_by_another_process_show(client: TestClient,
                                                     tmp_path: Path) -> None:
    with favourites_db(tmp_path / "cache") as conn:
        conn.execute("INSERT INTO favourites (path, path_bytes, starred_at)"
                     " VALUES ('notes.txt', NULL, 0)")

    async def seen() -> bool:
        return await starred(client) == ["notes.txt"]

    await until(seen, "a star written by another process")


async def test_a_damaged_favourites_file_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / FILE_NAME
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match=r"cannot open the favourites in .*favourites\.db"):
        await Favourites(broken).open()
    assert broken.read_bytes() == b"this is not a database" * 100  # left as it was
