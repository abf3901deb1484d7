"""The grid's order switch in a real browser: Name | Date taken, the viewer's ← → and the
slideshow in that order, the order remembered for the home page's tag links."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from ..support import LiveServer, jpeg_bytes, make_tree
from ..support.browser import COLORS, RECORD, screenshot, shown, thumbnails_loaded, wait_shown

pytestmark = pytest.mark.browser

DAY = 86_400
T0 = 1_600_000_000
# The pictures state no capture time, so they sort by their mtime: newest first, the
# order is neither the names' nor its reverse.
DAYS = {"pic1.jpg": 2, "pic2.jpg": 5, "pic3.jpg": 1, "pic4.jpg": 3, "pic5.jpg": 4}
BY_NAME = sorted(DAYS)
NEWEST_FIRST = ["pic2.jpg", "pic5.jpg", "pic4.jpg", "pic1.jpg", "pic3.jpg"]


@pytest.fixture
def album(tmp_path: Path, start_server: Any) -> LiveServer:
    root = make_tree(tmp_path / "lib", {
        f"Album/{name}": jpeg_bytes((400, 300), color)
        for name, color in zip(BY_NAME, COLORS, strict=True)})
    for name, days in DAYS.items():
        os.utime(root / "Album" / name, (T0 + days * DAY, T0 + days * DAY))
    server: LiveServer = start_server(root)
    return server


def names(page: Any) -> list[str]:
    return list(page.locator(".tile .name").all_inner_texts())


def current_order(page: Any) -> str:
    return str(page.locator("#sort [aria-current=true]").inner_text())


def test_switch_to_date_taken_then_step_and_show_in_that_order(album: LiveServer,
                                                               tabs: Any) -> None:
    page = tabs(album).page
    page.goto("/tag/Album")
    assert names(page) == BY_NAME
    assert current_order(page) == "Name"
    page.get_by_role("link", name="Date taken").click()
    page.wait_for_url("**/tag/Album?sort=taken")
    assert names(page) == NEWEST_FIRST
    assert current_order(page) == "Date taken"

    page.locator(".tile").first.click()
    page.wait_for_url("**/view/Album/Album/pic2.jpg?sort=taken")
    assert page.locator("#position").inner_text() == "1 / 5"
    for key, at in [("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1)]:
        page.keyboard.press(key)
        page.wait_for_url(f"**/view/Album/Album/{NEWEST_FIRST[at]}?sort=taken")
        assert page.locator("#name").inner_text() == NEWEST_FIRST[at]
        assert page.locator("#position").inner_text() == f"{at + 1} / 5"
    page.keyboard.press("Escape")  # back to the grid in the same order, at this file
    page.wait_for_url("**/tag/Album?sort=taken#f1")
    assert names(page) == NEWEST_FIRST

    page.goto("/view/Album/Album/pic2.jpg?sort=taken")
    page.select_option("#slide-interval", "1")
    page.evaluate(RECORD)
    page.keyboard.press("s")
    wait_shown(page, "pic4.jpg")
    assert shown(page)[:3] == NEWEST_FIRST[:3]
    wait_shown(page, "pic3.jpg")
    assert shown(page) == NEWEST_FIRST
    # The last of the order: the slideshow stops there, in the viewer in that order.
    page.wait_for_url("**/view/Album/Album/pic3.jpg?sort=taken")
    assert page.locator("#position").inner_text() == "5 / 5"


def test_the_switch_is_kept_for_the_home_page_s_tag_links(album: LiveServer, tabs: Any) -> None:
    page = tabs(album).page
    page.goto("/")
    album_link = page.get_by_role("link", name=re.compile(r"^Album\s+5$"))
    assert album_link.get_attribute("href") == "/tag/Album"  # nothing chosen yet

    page.goto("/tag/Album")
    page.locator("#sort a[data-sort=taken]").focus()  # the switch by keyboard
    page.keyboard.press("Enter")
    page.wait_for_url("**/tag/Album?sort=taken")
    page.goto("/")
    assert album_link.get_attribute("href") == "/tag/Album?sort=taken"
    assert page.get_by_role("link", name=re.compile(r"^All\s+5$")).get_attribute(
        "href") == "/tag/All?sort=taken"
    album_link.click()
    page.wait_for_url("**/tag/Album?sort=taken")
    assert names(page) == NEWEST_FIRST

    page.get_by_role("link", name="Name").click()  # and back: tag links are plain again
    page.wait_for_url("**/tag/Album")
    assert names(page) == BY_NAME
    page.goto("/")
    assert album_link.get_attribute("href") == "/tag/Album"

    other = tabs(album).page  # another browser profile has its own choice
    other.goto("/tag/Album?sort=taken")  # opening a link is not choosing
    other.goto("/")
    assert other.get_by_role("link", name=re.compile(r"^Album\s+5$")).get_attribute(
        "href") == "/tag/Album"


def test_screenshot_of_a_grid_by_date_taken(sample: LiveServer, tabs: Any, tmp_path: Path) -> None:
    page = tabs(sample).page
    page.goto("/tag/Trips")
    page.get_by_role("link", name="Date taken").click()
    page.wait_for_url("**/tag/Trips?sort=taken")
    # The newest first: the 2024 trip, its last evening before its first morning.
    assert names(page)[:3] == ["sunset rooftops.jpg", "tram.jpg", "waves.mp4"]
    thumbnails_loaded(page)
    screenshot(page, "sort-taken", tmp_path)
