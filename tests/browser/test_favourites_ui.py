"""The ★ in a real browser: in the viewer and on grid tiles, by click and by key (* or f)."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ..support import jpeg_bytes, make_tree
from ..support.browser import COLORS, DESKTOP, Tab, make_library, screenshot, thumbnails_loaded

pytestmark = pytest.mark.browser

ALBUM = {f"Album/pic{i + 1}.jpg": jpeg_bytes((400, 300), c) for i, c in enumerate(COLORS)}


def starred(server: Any) -> list[str]:
    body = server.get_json("/api/files?tag=Favourites")
    return [f["path"] for f in body["files"]]


def pressed(tab: Tab, selector: str) -> str:
    return str(tab.page.locator(selector).get_attribute("aria-pressed"))


def test_star_in_the_viewer_by_click_and_key(tmp_path: Path, start_server: Any,
                                             tabs: Any) -> None:
    server = start_server(make_tree(tmp_path / "lib", ALBUM))
    tab = tabs(server)
    page = tab.page
    page.goto("/view/Album/Album/pic2.jpg")
    assert pressed(tab, "#star") == "false"
    with page.expect_response("**/api/favourites?path=Album/pic2.jpg") as answer:
        page.click("#star")
    assert (answer.value.request.method, answer.value.status) == ("PUT", 200)
    assert pressed(tab, "#star") == "true"
    assert starred(server) == ["Album/pic2.jpg"]

    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/view/Album/Album/pic3.jpg")
    with page.expect_response("**/api/favourites?path=Album/pic3.jpg"):
        page.keyboard.press("*")
    assert starred(server) == ["Album/pic2.jpg", "Album/pic3.jpg"]
    page.reload()
    assert pressed(tab, "#star") == "true"  # the page says so too, not just the script
    with page.expect_response("**/api/favourites?path=Album/pic3.jpg") as answer:
        page.keyboard.press("*")
    assert answer.value.request.method == "DELETE"
    assert pressed(tab, "#star") == "false"
    assert starred(server) == ["Album/pic2.jpg"]


def test_star_on_grid_tiles_and_the_favourites_tag(tmp_path: Path, start_server: Any,
                                                   tabs: Any) -> None:
    server = start_server(make_tree(tmp_path / "lib", ALBUM))
    tab = tabs(server)
    page = tab.page
    page.goto("/tag/Album")
    thumbnails_loaded(page)
    star4 = page.locator("#f3 .star")
    with page.expect_response("**/api/favourites?path=Album/pic4.jpg"):
        page.hover("#f3 .tile")
        star4.click()
    assert star4.get_attribute("aria-pressed") == "true"
    assert page.url.endswith("/tag/Album")  # the star is not the tile's link
    page.hover("#f0 .tile")
    with page.expect_response("**/api/favourites?path=Album/pic1.jpg"):
        page.keyboard.press("f")
    assert starred(server) == ["Album/pic1.jpg", "Album/pic4.jpg"]

    page.goto("/")
    page.get_by_role("link", name="Favourites 2").click()
    page.wait_for_url("**/tag/Favourites")
    assert page.locator(".tile .name").all_inner_texts() == ["pic1.jpg", "pic4.jpg"]
    assert page.locator(".star.on").count() == 2


def test_a_refused_star_is_put_back_and_said(tmp_path: Path, start_server: Any,
                                             tabs: Any) -> None:
    root = make_tree(tmp_path / "lib", ALBUM)
    server = start_server(root)
    tab = tabs(server)
    page = tab.page
    page.goto("/view/Album/Album/pic5.jpg")
    (root / "Album/pic5.jpg").unlink()
    page.evaluate("fetch('/api/rescan?wait=1', {method: 'POST'})")  # resolves once published
    with page.expect_response("**/api/favourites?path=Album/pic5.jpg") as answer:
        page.click("#star")
    assert answer.value.status == 404
    page.locator("#star-toast").wait_for()
    assert "Could not star this file" in page.locator("#star-toast").inner_text()
    assert pressed(tab, "#star") == "false"


def test_screenshots_of_stars_and_a_slideshow(tmp_path: Path, start_server: Any,
                                             tabs: Any) -> None:
    root = tmp_path / "lib"
    make_library(root, 60)
    server = start_server(root)
    files = server.get_json("/api/files?limit=12")["files"]
    pictures = [f for f in files if f["kind"] == "image"]
    chosen = pictures[1:6:2]
    assert len(chosen) >= 2
    for file in chosen:
        star_url = server.url + "/api/favourites?path=" + file["url"].removeprefix("/media/")
        with urllib.request.urlopen(urllib.request.Request(star_url, method="PUT")) as resp:
            assert resp.status == 200
    page = tabs(server, DESKTOP).page
    page.goto("/tag/All")
    thumbnails_loaded(page)
    page.hover("#f0 .tile")
    assert page.locator(".grid .star.on").count() == len(chosen)
    screenshot(page, "favourites", tmp_path)

    page.goto(f"/view/All/{pictures[3]['url'].removeprefix('/media/')}")
    page.select_option("#slide-interval", "60")
    page.keyboard.press("s")
    page.wait_for_function("() => document.getElementById('show-media')?.complete")
    screenshot(page, "slideshow", tmp_path)
