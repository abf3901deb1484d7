"""sort=taken: each tag newest first, precomputed in the generation, kept by delta builds."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.settings import Settings
from mediasrv.snapshot import pagequery
from mediasrv.snapshot import sqlite as backend

from .support import OFFSET_ORIGINAL, ORIGINAL, make_tree, rescan
from .support import dated as with_exif

DAY = 86_400
T0 = 1_600_000_000

# path -> mtime: the files carry no capture time, so their mtime is what they sort by.
TIMES = {
    "Trips/a.jpg": T0 + 3 * DAY,
    "Trips/b.jpg": T0 + 1 * DAY,
    "Trips/c.jpg": T0 + 3 * DAY,  # the same moment as a.jpg
    "Trips/Beach/d.jpg": T0 + 5 * DAY,
    "Trips/Beach/e[sun].jpg": T0,
    "Home/f[sun].jpg": T0 + 4 * DAY,
    "Home/g.mp4": T0 + 2 * DAY,
}
NEWEST_FIRST = ["Trips/Beach/d.jpg", "Home/f[sun].jpg", "Trips/c.jpg", "Trips/a.jpg",
                "Home/g.mp4", "Trips/b.jpg", "Trips/Beach/e[sun].jpg"]


def stamp(root: Path, times: dict[str, int]) -> None:
    for rel, when in times.items():
        os.utime(root / rel, (when, when))


@pytest.fixture
def dated(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "lib", {rel: b"x" * 9 for rel in TIMES})
    stamp(root, TIMES)
    return root


@pytest.fixture
async def client(started: Callable[..., Any], dated: Path,
                 settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(dated))


async def order(client: TestClient, tag: str = "All", **extra: Any) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in {"tag": tag, "sort": "taken", "limit": 1000,
                                              **extra}.items())
    body = await (await client.get(f"/api/files?{query}")).json()
    assert body["sort"] == "taken"
    return [f["path"] for f in body["files"]]


async def test_newest_first_and_a_moment_shared_in_reverse_natural_order(
    client: TestClient,
) -> None:
    assert await order(client) == NEWEST_FIRST
    assert await order(client, "sun") == ["Home/f[sun].jpg", "Trips/Beach/e[sun].jpg"]
    assert await order(client, "Trips") == [p for p in NEWEST_FIRST if p.startswith("Trips/")]
    assert await order(client, offset=2, limit=3) == NEWEST_FIRST[2:5]
    assert await order(client, offset=6, limit=5) == NEWEST_FIRST[6:]
    assert await order(client, offset=7) == []
    by_name = await (await client.get("/api/files?limit=1000")).json()
    assert by_name["sort"] == "name"
    assert [f["path"] for f in by_name["files"]] == [  # natural path order
        "Home/f[sun].jpg", "Home/g.mp4", "Trips/a.jpg", "Trips/b.jpg", "Trips/Beach/d.jpg",
        "Trips/Beach/e[sun].jpg", "Trips/c.jpg"]


async def test_a_file_s_neighbours_in_the_order(client: TestClient) -> None:
    for at, path in enumerate(NEWEST_FIRST):
        body = await (await client.get(f"/api/file?path={path}&sort=taken")).json()
        assert (body["position"], body["total"], body["sort"]) == (at, len(NEWEST_FIRST), "taken")
        assert (body["prev"] or {}).get("path") == (NEWEST_FIRST[at - 1] if at else None)
        assert (body["next"] or {}).get("path") == (
            NEWEST_FIRST[at + 1] if at + 1 < len(NEWEST_FIRST) else None)
    outside = await client.get("/api/file?path=Home/g.mp4&tag=sun&sort=taken")
    assert outside.status == 404


@pytest.mark.slow
@pytest.mark.parametrize("value", ["date", "TAKEN", "name,taken", "%FF"])
async def test_an_unknown_order_is_a_bad_parameter(client: TestClient, value: str) -> None:
    for url in (f"/api/files?sort={value}", f"/api/file?path=Home/g.mp4&sort={value}"):
        resp = await client.get(url)
        assert resp.status == 400
        assert "sort must be one of name, taken" in (await resp.json())["error"]["message"]


async def test_a_new_photo_comes_first_and_a_touched_one_moves(
    client: TestClient, dated: Path,
) -> None:
    (dated / "Home/new.jpg").write_bytes(b"new")  # now: newer than every other
    os.utime(dated / "Trips/b.jpg", (T0 - DAY, T0 - DAY))  # now the oldest
    body = await rescan(client)
    assert body["mode"] == "delta", body
    expected = ["Home/new.jpg", *[p for p in NEWEST_FIRST if p != "Trips/b.jpg"], "Trips/b.jpg"]
    assert await order(client) == expected
    assert await order(client, "Home") == ["Home/new.jpg", "Home/f[sun].jpg", "Home/g.mp4"]


async def test_favourites_in_the_order(client: TestClient) -> None:
    for path in ("Trips/b.jpg", "Trips/Beach/d.jpg", "Home/g.mp4"):
        resp = await client.put(f"/api/favourites?path={path}")
        assert resp.status == 200, await resp.text()
    assert await order(client, "Favourites") == ["Trips/Beach/d.jpg", "Home/g.mp4",
                                                 "Trips/b.jpg"]
    body = await (await client.get("/api/file?path=Home/g.mp4&tag=Favourites&sort=taken")).json()
    assert (body["prev"]["path"], body["position"], body["next"]["path"]) == (
        "Trips/Beach/d.jpg", 1, "Trips/b.jpg")


def test_the_view_lists_each_tag_newest_first_for_sqlite3(dated: Path, tmp_path: Path) -> None:
    cache = CacheDir(tmp_path / "cache")
    run_scan(dated, cache)
    conn = sqlite3.connect(cache.current)
    rows = conn.execute("SELECT position, path, taken_ns, sorted_by_ns FROM taken_order"
                        " WHERE tag = 'All'").fetchall()
    assert [r[1] for r in rows] == NEWEST_FIRST
    assert [r[0] for r in rows] == list(range(len(NEWEST_FIRST)))
    assert all(r[2] is None and r[3] == TIMES[r[1]] * 10**9 for r in rows)


def test_a_page_and_a_file_s_place_are_index_lookups(tmp_path: Path) -> None:
    """However deep the offset: the chunk is found by key, never by reading a tag."""
    root = tmp_path / "lib"
    for folder in range(20):
        (root / f"d{folder}").mkdir(parents=True)
        for i in range(150):
            path = root / f"d{folder}" / f"img{i}.jpg"
            path.touch()
            when = T0 + (i * 7919 + folder * 104_729) % 100_000
            os.utime(path, (when, when))
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)
    assert conn.execute("SELECT count(*) FROM tag_taken").fetchone()[0] > 6  # several chunks
    params = {"tag_key": "all", "offset": 2000, "end": 2010,
              "path": "d7/img33.jpg", "path_bytes": None}
    for sql in (pagequery.PAGE["taken"], backend._NEIGHBOURS_TAKEN):
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        scans = [step for step in plan if step.startswith("SCAN")
                 and "VIRTUAL TABLE" not in step and step.split()[1] not in ("t", "me", "c")]
        assert not scans, plan
        assert any("tag_taken" in step or " c USING PRIMARY KEY" in step for step in plan)
    assert "USING INDEX tag_taken_key" in " ".join(
        row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + backend._NEIGHBOURS_TAKEN, params))


async def test_a_photo_sorts_by_the_date_it_states_and_a_new_one_lands_in_place(
    tmp_path: Path, started: Callable[..., Any], settings_for: Callable[..., Settings],
) -> None:
    """EXIF DateTimeOriginal wins over the mtime; a file without one sorts by its mtime."""
    root = make_tree(tmp_path / "lib", {
        "Cam/a.jpg": with_exif({ORIGINAL: "2019:05:01 10:00:00", OFFSET_ORIGINAL: "+00:00"}),
        "Cam/b.jpg": with_exif({ORIGINAL: "2021:01:01 08:00:00", OFFSET_ORIGINAL: "+02:00"}),
        "Cam/c.jpg": with_exif({}),
    })
    stamp(root, {"Cam/a.jpg": T0 + 9 * DAY, "Cam/b.jpg": T0, "Cam/c.jpg": T0 + DAY})
    client = await started(settings_for(root))
    body = await (await client.get("/api/files?sort=taken")).json()
    assert [f["name"] for f in body["files"]] == ["b.jpg", "c.jpg", "a.jpg"]
    assert [f["taken_ns"] for f in body["files"]] == [
        1_609_480_800 * 10**9, None, 1_556_704_800 * 10**9]
    (root / "Cam/d.jpg").write_bytes(
        with_exif({ORIGINAL: "2020:01:01 00:00:00", OFFSET_ORIGINAL: "+00:00"}))
    assert (await rescan(client))["mode"] == "delta"
    assert await order(client, "Cam") == ["Cam/b.jpg", "Cam/c.jpg", "Cam/d.jpg", "Cam/a.jpg"]
