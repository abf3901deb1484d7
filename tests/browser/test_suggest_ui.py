"""The search box suggests matches as you type: debounced, and never stale."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ..support import LiveServer

pytestmark = pytest.mark.browser


def test_typing_shows_the_first_matches_once_and_the_newest_only(
    sample: LiveServer, tabs: Any,
) -> None:
    page = tabs(sample).page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/search" in r.url else None)
    # The page's clock is the test's: a loaded machine stretched the real gaps between
    # keystrokes past the pause, and a request went out mid-word.
    page.clock.install()
    page.goto("/")
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # time stands until run_for
    box = page.locator("form.search input")
    box.press_sequentially("sunse")
    page.clock.run_for(199)  # the pause (200 ms) has not passed since the last keystroke
    assert asked == []
    page.clock.run_for(2)  # it has: one request, for the whole word
    page.wait_for_selector("#suggest li a")
    links = page.locator("#suggest li a")
    assert links.count() >= 1
    assert all("sunset" in t.lower() for t in links.all_inner_texts())
    assert len(asked) == 1 and asked[0].endswith("q=sunse")
    box.fill("zzzqqq")
    box.dispatch_event("input")
    page.clock.run_for(250)
    page.wait_for_selector("#suggest", state="hidden")
    box.fill("sunset")
    box.dispatch_event("input")
    page.clock.run_for(250)
    page.wait_for_selector("#suggest li a")
    first = links.first.locator(".sg-name").inner_text()
    with page.expect_navigation():
        links.first.click()
    assert re.search(r"/view/All/.+\?q=sunset$", page.url)
    assert page.locator("#name").inner_text() == first


def test_rows_of_one_name_show_where_their_paths_differ(start_server: Any, tabs: Any,
                                                        tmp_path: Any) -> None:
    from ..support import make_tree

    deep = "Photos/Family Holidays Archive/Scanned Prints"
    root = make_tree(tmp_path / "lib", {f"{deep}/{year}/{place}/IMG_0001.jpg": b"x"
                                        for year, place in [("1987", "Rome"), ("1991", "Oslo")]})
    page = tabs(start_server(root)).page
    page.goto("/")
    page.locator("form.search input").fill("img_0001")
    page.locator("form.search input").dispatch_event("input")
    page.wait_for_selector("#suggest li a")
    rows = page.locator("#suggest li a")
    assert rows.locator(".sg-name").all_inner_texts() == ["IMG_0001.jpg", "IMG_0001.jpg"]
    folders = rows.locator(".sg-folder").all_inner_texts()
    assert [f.endswith(end) for f, end in zip(folders, ["1987/Rome", "1991/Oslo"],
                                              strict=True)] == [True, True]
    assert all("…" in f and len(f) <= 34 for f in folders)  # the middle left out
    assert rows.first.get_attribute("title") == f"{deep}/1987/Rome/IMG_0001.jpg"
