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
    page.goto("/")
    box = page.locator("form.search input")
    box.press_sequentially("sunse", delay=20)  # faster than the pause: one request at the end
    page.wait_for_selector("#suggest li a")
    links = page.locator("#suggest li a")
    assert links.count() >= 1
    assert all("sunset" in t.lower() for t in links.all_inner_texts())
    assert len(asked) == 1 and asked[0].endswith("q=sunse")
    box.fill("zzzqqq")
    box.dispatch_event("input")
    page.wait_for_selector("#suggest", state="hidden")
    box.fill("sunset")
    box.dispatch_event("input")
    page.wait_for_selector("#suggest li a")
    first = links.first.inner_text()
    with page.expect_navigation():
        links.first.click()
    assert re.search(r"/view/All/.+\?q=sunset$", page.url)
    assert page.locator("#name").inner_text() == first.rpartition("/")[2]
