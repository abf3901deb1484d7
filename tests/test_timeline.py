"""The grid by date as a timeline: month headings, the scrubber, ?month=, the viewer's month."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.server import grid, pages
from mediasrv.settings import Settings

from .support import make_tree, page

# name -> (year, month, day): no file states a capture time, so each stands at its mtime.
DATES = {
    "a.jpg": (2024, 1, 5), "b.jpg": (2023, 12, 30), "c.jpg": (2023, 12, 2),
    "d.jpg": (2023, 12, 1), "e.jpg": (2023, 11, 20), "f.jpg": (2021, 6, 1),
    "g.jpg": (2021, 6, 2),
}
NEWEST_FIRST = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "g.jpg", "f.jpg"]


@pytest.fixture
async def client(local_zone: Callable[[str], None], started: Callable[..., Any],
                 tmp_path: Path,
                 settings_for: Callable[..., Settings],
                 monkeypatch: pytest.MonkeyPatch) -> TestClient:
    local_zone("Europe/Paris")
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)  # the viewer's way back
    monkeypatch.setattr(grid, "PAGE_SIZE", 3)  # the grid's pages
    root = make_tree(tmp_path / "lib", {f"Trip/{name}": b"x" for name in DATES})
    for name, (y, m, d) in DATES.items():
        when = time.mktime((y, m, d, 12, 0, 0, 0, 0, -1))
        os.utime(root / "Trip" / name, (when, when))
    return await started(settings_for(root))


def sections(html: str) -> list[tuple[str, list[str]]]:
    """(heading, tile names) in page order; a heading of '' for tiles before any heading."""
    found: list[tuple[str, list[str]]] = []
    for heading, names in re.findall(r'<h2 class="month[^"]*"[^>]*>(.*?)</h2>|'
                                     r'<span class="name">([^<]*)</span>', html):
        if heading:
            found.append((re.sub(r"<[^>]+>", "", heading), []))
        else:
            if not found:
                found.append(("", []))
            found[-1][1].append(names)
    return found


async def test_each_month_starts_under_its_heading_also_mid_page(client: TestClient) -> None:
    assert sections(await page(client, "/tag/Trip?sort=taken")) == [
        ("January 2024", ["a.jpg"]), ("December 2023", ["b.jpg", "c.jpg"])]
    assert sections(await page(client, "/tag/Trip?sort=taken&page=2")) == [
        ("December 2023 continued", ["d.jpg"]), ("November 2023", ["e.jpg"]),
        ("June 2021", ["g.jpg"])]
    assert sections(await page(client, "/tag/Trip?sort=taken&page=3")) == [
        ("June 2021 continued", ["f.jpg"])]


async def test_the_name_order_has_no_months(client: TestClient) -> None:
    html = await page(client, "/tag/Trip")
    assert 'class="month"' not in html and 'id="scrubber"' not in html
    assert 'id="month-pick"' not in html


async def test_headings_are_anchors_only_where_a_month_starts(client: TestClient) -> None:
    assert re.findall(r'<h2 class="month" data-month="\d+" id="([^"]+)"',
                      await page(client, "/tag/Trip?sort=taken&page=2")) == [
        "m-2023-11", "m-2021-06"]


async def test_the_scrubber_links_each_month_to_its_first_page(client: TestClient) -> None:
    html = await page(client, "/tag/Trip?sort=taken&page=2")
    rail = html[html.index('id="scrubber"'):html.index("</nav>", html.index('id="scrubber"'))]
    assert re.findall(r"<summary[^>]*>(\d+)</summary>", rail) == ["2024", "2023", "2021"]
    assert re.findall(r'<a href="([^"]+)" title="([^"]+)"', rail) == [
        ("/tag/Trip?sort=taken#m-2024-01", "January 2024: 1"),
        ("/tag/Trip?sort=taken#m-2023-12", "December 2023: 3"),
        ("/tag/Trip?sort=taken&amp;page=2#m-2023-11", "November 2023: 1"),
        ("/tag/Trip?sort=taken&amp;page=2#m-2021-06", "June 2021: 2"),
    ]
    # The year of the page's first file is open; its month is the current one.
    assert re.findall(r"<details( open)?>\s*<summary", rail) == ["", " open", ""]
    assert 'aria-current="true">Dec</a>' in rail
    # The phone's list holds the same months, the page's own chosen.
    picker = html.partition('id="month-pick"')[2].partition("</form>")[0]  # not the Share dialog's
    assert re.findall(r'<option value="([^"]+)"( selected)?>', picker) == [
        ("2024-01", ""), ("2023-12", " selected"), ("2023-11", ""), ("2021-06", "")]


@pytest.mark.parametrize("month, where", [
    ("2023-11", "/tag/Trip?sort=taken&page=2#m-2023-11"),
    ("2024-01", "/tag/Trip?sort=taken#m-2024-01"),
    ("2022-03", "/tag/Trip?sort=taken&page=2#m-2021-06"),  # none then: the next older
    ("1999-01", "/tag/Trip?sort=taken&page=2#m-2021-06"),  # before them all: the oldest
    ("2030-01", "/tag/Trip?sort=taken#m-2024-01"),  # after them all: the newest
])
async def test_a_month_opens_the_page_where_it_starts(client: TestClient, month: str,
                                                      where: str) -> None:
    for order in ("&sort=taken", "&sort=name", ""):
        resp = await client.get(f"/tag/Trip?month={month}{order}", allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (302, where)


@pytest.mark.parametrize("month", ["2023-13", "2023-1", "23-01", "", "2023-01x"])
async def test_a_bad_month_is_a_400_page(client: TestClient, month: str) -> None:
    html = await page(client, f"/tag/Trip?month={month}", status=400)
    assert "YYYY-MM" in html


async def test_the_viewer_shows_the_month_and_links_to_it(client: TestClient) -> None:
    html = await page(client, "/view/Trip/Trip/d.jpg?sort=taken")
    link = re.search(r'<a href="([^"]+)" id="month"[^>]*>([^<]+)</a>', html)
    assert link is not None
    assert (link[1], link[2]) == ("/tag/Trip?sort=taken&amp;month=2023-12", "December 2023")
    resp = await client.get("/tag/Trip?sort=taken&month=2023-12", allow_redirects=False)
    assert resp.headers["Location"] == "/tag/Trip?sort=taken#m-2023-12"
    # The way back lands on the page and the tile of the file viewed, in its month.
    assert '<a href="/tag/Trip?sort=taken&amp;page=2#f3" id="back"' in html


async def test_search_results_show_no_month(client: TestClient) -> None:
    html = await page(client, "/view/All/Trip/d.jpg?q=d")
    assert 'id="month"' not in html
