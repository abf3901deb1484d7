"""The home page: the newest files first, then the tags grouped, each with a cover."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.server import home
from mediasrv.settings import Settings

from .conftest import make_tree
from .test_pages import page

T0 = 1_600_000_000
# path -> days after T0 (its mtime; no file states when it was taken)
FILES = {
    "Trips/2024/Beach/a[sunset].jpg": 9, "Trips/2024/Beach/b.jpg": 3,
    "Trips/2023/Lake/c.jpg": 7, "Pets/d[sunset cat].jpg": 5, "Pets/Old/e.jpg": 1,
    "notes.txt": 2,
}


@pytest.fixture
async def client(started: Callable[..., Any], tmp_path: Path,
                 settings_for: Callable[..., Settings]) -> TestClient:
    root = make_tree(tmp_path / "lib", dict.fromkeys(FILES, b"x"))
    for rel, days in FILES.items():
        os.utime(root / rel, (T0 + days * 86_400, T0 + days * 86_400))
    return await started(settings_for(root))


def groups(html: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """group -> [(tag, count, cover thumbnail path or None)] as the page lists them."""
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for key, body in re.findall(r'<section class="tag-group" data-group="(\w+)">(.*?)</section>',
                                html, re.S):
        found[key] = [
            (name, count, thumb.partition("?")[0] or None)
            for thumb, name, count in re.findall(
                r'<a href="[^"]+" class="tag card[^"]*">\s*(?:<img src="([^"]*)"[^>]*>|'
                r'<span class="cover none"[^>]*></span>)\s*<span class="tag-name">([^<]+)</span>'
                r'<span class="count">([^<]+)</span>', body)]
    return found


async def test_the_newest_files_come_first(client: TestClient) -> None:
    html = await page(client, "/")
    recent = html[html.index('<section class="recent"'):html.index("</section>")]
    assert re.findall(r'<span class="name">([^<]+)</span>', recent) == [
        "a[sunset].jpg", "c.jpg", "d[sunset cat].jpg", "b.jpg", "notes.txt", "e.jpg"]
    assert 'href="/tag/All?sort=taken" id="all-by-date"' in recent


async def test_tags_are_grouped_with_counts_and_covers(client: TestClient) -> None:
    assert groups(await page(client, "/")) == {
        "library": [("All", "6", "/thumb/Trips/2024/Beach/a%5Bsunset%5D.jpg"),
                    ("Favourites", "0", None)],
        "folders": [("Pets", "2", "/thumb/Pets/d%5Bsunset%20cat%5D.jpg"),
                    ("Trips", "3", "/thumb/Trips/2024/Beach/a%5Bsunset%5D.jpg")],
        "years": [("2024", "2", "/thumb/Trips/2024/Beach/a%5Bsunset%5D.jpg"),
                  ("2023", "1", "/thumb/Trips/2023/Lake/c.jpg")],
        "tags": [("cat", "1", "/thumb/Pets/d%5Bsunset%20cat%5D.jpg"),
                 ("sunset", "2", "/thumb/Trips/2024/Beach/a%5Bsunset%5D.jpg")],
        "more": [("Beach", "2", "/thumb/Trips/2024/Beach/a%5Bsunset%5D.jpg"),
                 ("Lake", "1", "/thumb/Trips/2023/Lake/c.jpg"),
                 ("Old", "1", "/thumb/Pets/Old/e.jpg")],
    }


async def test_a_starred_file_is_the_favourites_cover(client: TestClient) -> None:
    for path in ["Pets/Old/e.jpg", "Trips/2023/Lake/c.jpg"]:
        assert (await client.put("/api/favourites", params={"path": path})).status == 200
    assert groups(await page(client, "/"))["library"][1] == (
        "Favourites", "2", "/thumb/Trips/2023/Lake/c.jpg")


async def test_the_recent_files_are_a_screenful_at_most(
    client: TestClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(home, "RECENT", 2)
    html = await page(client, "/")
    recent = html[html.index('<section class="recent"'):html.index("</section>")]
    assert len(re.findall(r'class="tile ', recent)) == 2


@pytest.mark.parametrize("name, kind", [
    ("2019", "years"), ("1987", "years"), ("12345", "more"), ("Trips", "folders"),
    ("Beach", "more"), ("sunset", "tags"), ("3000", "more"),
])
def test_what_kind_of_tag(name: str, kind: str) -> None:
    assert home.kind_of_tag(name, frozenset({"Trips"}),
                            frozenset({"Trips", "Beach", "12345", "3000"})) == kind
