"""The pages with ``?sort=taken``: the grid, its switch and pager, the viewer, random."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.server import grid, pages
from mediasrv.settings import Settings

from .support import OFFSET_ORIGINAL, ORIGINAL, make_tree, page, parse, rescan
from .support import dated as with_exif

DAY = 86_400
T0 = 1_600_000_000
# name -> mtime: the files state no capture time, so they sort by their mtime.
TIMES = {"a.jpg": T0 + DAY, "b.jpg": T0 + 4 * DAY, "c.jpg": T0 + 2 * DAY,
         "d.jpg": T0 + 5 * DAY, "e.jpg": T0 + 3 * DAY}
BY_NAME = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]
NEWEST_FIRST = ["d.jpg", "b.jpg", "e.jpg", "c.jpg", "a.jpg"]


@pytest.fixture
async def client(started: Callable[..., Any], tmp_path: Path,
                 settings_for: Callable[..., Settings]) -> TestClient:
    root = make_tree(tmp_path / "lib", {f"Trip/{name}": b"x" * 9 for name in TIMES})
    for name, when in TIMES.items():
        os.utime(root / "Trip" / name, (when, when))
    return await started(settings_for(root))


@pytest.fixture
def pages_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)  # the viewer's way back
    monkeypatch.setattr(grid, "PAGE_SIZE", 2)  # the grid's pages


async def tiles(client: TestClient, url: str) -> list[str]:
    return [u.rpartition("/")[2] for u in parse(await page(client, url)).urls
            if u.startswith("/view/")]


async def test_the_grid_in_either_order_and_its_switch(client: TestClient) -> None:
    assert await tiles(client, "/tag/Trip") == BY_NAME
    assert await tiles(client, "/tag/Trip?sort=name") == BY_NAME
    assert await tiles(client, "/tag/Trip?sort=taken") == [
        f"{name}?sort=taken" for name in NEWEST_FIRST]
    for url, current in [("/tag/Trip", "Name"), ("/tag/Trip?sort=taken", "Date taken")]:
        html = await page(client, url)
        start = html.index('<nav class="sort"')
        switch = html[start:html.index("</nav>", start)]
        assert switch.count('aria-current="true"') == 1
        assert f'aria-current="true">{current}</a>' in switch
        assert 'href="/tag/Trip" data-sort="name"' in switch
        assert 'href="/tag/Trip?sort=taken" data-sort="taken"' in switch
        assert ('href="/random/Trip?sort=taken"' in html) == (current == "Date taken")


async def test_the_pager_keeps_the_order(client: TestClient, pages_of_two: None) -> None:
    html = await page(client, "/tag/Trip?sort=taken&page=2")
    links = parse(html)
    assert [u.rpartition("/")[2] for u in links.urls if u.startswith("/view/")] == [
        "e.jpg?sort=taken", "c.jpg?sort=taken"]
    assert links.ids["prev"]["href"] == "/tag/Trip?sort=taken"
    assert links.ids["next"]["href"] == "/tag/Trip?sort=taken&page=3"
    assert 'href="/tag/Trip?sort=taken" title="First page"' in html
    assert 'href="/tag/Trip?sort=taken&amp;page=3" title="Last page"' in html
    assert 'id="f2"' in html  # the tiles' anchors count in this order
    # The default order's URLs are what they always were.
    plain = parse(await page(client, "/tag/Trip?page=2"))
    assert plain.ids["next"]["href"] == "/tag/Trip?page=3"
    assert [u for u in plain.urls if u.startswith("/view/")] == [
        "/view/Trip/Trip/c.jpg", "/view/Trip/Trip/d.jpg"]
    # Past the end: the last page, in the same order.
    resp = await client.get("/tag/Trip?sort=taken&page=9", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/tag/Trip?sort=taken&page=3")


@pytest.mark.parametrize("url", [
    "/tag/Trip?sort=bogus", "/tag/Trip?sort=TAKEN&page=2", "/view/Trip/Trip/a.jpg?sort=date",
    "/random/Trip?sort=newest", "/tag/Trip?sort=taken&sort=name",
])
async def test_an_unknown_order_is_the_400_page(client: TestClient, url: str) -> None:
    html = await page(client, url, 400)
    assert "That did not work" in html
    assert "sort must be one of name, taken" in html or "given 2 times" in html


async def test_the_viewer_steps_newest_first(client: TestClient, pages_of_two: None) -> None:
    url: str | None = "/view/Trip/Trip/d.jpg?sort=taken"
    seen = []
    while url is not None:
        ids = parse(html := await page(client, url)).ids
        seen.append(url)
        assert ('id="prev"' in html) == (len(seen) > 1)
        name = NEWEST_FIRST[len(seen) - 1]
        assert f'<span class="pos" id="position">{len(seen)} / 5</span>' in html
        assert f">{name}</h1>" in html
        at = len(seen) - 1
        assert ids["back"]["href"] == (
            f"/tag/Trip?sort=taken{f'&page={at // 2 + 1}' if at >= 2 else ''}#f{at}")
        assert ids["random"]["href"] == "/random/Trip?sort=taken"
        assert ids["viewer"]["data-api"].endswith("tag=Trip&sort=taken")
        assert "(by date taken, newest first)" in html
        if at:
            assert ids["prev"]["href"] == f"/view/Trip/Trip/{NEWEST_FIRST[at - 1]}?sort=taken"
        url = ids["next"]["href"] if "next" in ids else None
    assert len(seen) == 5


async def test_the_way_back_opens_the_grid_page_holding_the_file(
    client: TestClient, pages_of_two: None,
) -> None:
    ids = parse(await page(client, "/view/Trip/Trip/c.jpg?sort=taken")).ids  # 4th of 5
    back = ids["back"]["href"]
    assert back == "/tag/Trip?sort=taken&page=2#f3"
    grid = await page(client, back.partition("#")[0])
    assert 'id="f3"' in grid and 'href="/view/Trip/Trip/c.jpg?sort=taken"' in grid
    ids = parse(await page(client, "/view/Trip/Trip/c.jpg")).ids  # 3rd by name
    assert ids["back"]["href"] == "/tag/Trip?page=2#f2"
    assert ids["next"]["href"] == "/view/Trip/Trip/d.jpg"


async def test_search_results_keep_their_own_order(client: TestClient) -> None:
    ids = parse(await page(client, "/view/All/Trip/a.jpg?q=trip&sort=taken")).ids
    assert ids["next"]["href"] == "/view/All/Trip/b.jpg?q=trip"
    assert ids["back"]["href"] == "/search?q=trip#f0"


async def test_random_keeps_the_order_it_was_given(client: TestClient) -> None:
    resp = await client.get("/random/Trip?sort=taken", allow_redirects=False)
    assert resp.status == 302
    path, _, query = resp.headers["Location"].partition("?")
    assert path.rpartition("/")[2] in BY_NAME and query == "sort=taken"
    resp = await client.get("/random/Trip", allow_redirects=False)
    assert "?" not in resp.headers["Location"]


async def test_a_url_without_its_tag_is_sent_on_in_the_same_order(client: TestClient) -> None:
    resp = await client.get("/view/Trip/a.jpg?sort=taken", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/view/All/Trip/a.jpg?sort=taken")


async def test_the_viewer_shows_the_date_taken_when_the_file_states_one(
    client: TestClient, tmp_path: Path,
) -> None:
    html = await page(client, "/view/Trip/Trip/a.jpg")
    assert 'id="taken"' not in html and "modified " in html
    # A real photo whose EXIF says when it was taken (read by the probe on the rescan).
    (tmp_path / "lib" / "Trip" / "f.jpg").write_bytes(
        with_exif({ORIGINAL: "2021:07:04 18:30:00", OFFSET_ORIGINAL: "+00:00"}))
    assert (await rescan(client))["status"] == "published"
    taken_ns = 1_625_423_400 * 10**9  # 2021-07-04 18:30 UTC
    taken = parse(html := await page(client, "/view/Trip/Trip/f.jpg")).ids["taken"]
    local = datetime.fromtimestamp(taken_ns / 1e9).astimezone()  # the server's zone
    assert taken["datetime"] == local.isoformat(timespec="seconds")
    assert f">{local.strftime('%Y-%m-%d %H:%M %Z').strip()}</time>" in html
    assert datetime.fromisoformat(str(taken["datetime"])).timestamp() == taken_ns / 1e9
    # Newest first, it stands before every file that only has its 2020 mtime.
    newest = await (await client.get("/api/files?tag=Trip&sort=taken&limit=1")).json()
    assert newest["files"][0]["name"] == "f.jpg"
