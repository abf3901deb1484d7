"""The web UI in a real browser: headless Debian Chromium driven by Playwright.

Each test talks to ``python -m mediasrv serve`` running in a subprocess, so
what is checked is what a user gets: pages, keys, players, Range requests, and
browsing that carries on while a rescan runs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from ..support import LiveServer, jpeg_bytes, make_tree
from ..support.browser import (
    COLORS,
    HOLIDAY,
    PHONE,
    make_library,
    record_texts,
    screenshot,
    thumbnails_loaded,
    wait_text_seen,
)

pytestmark = pytest.mark.browser


def test_home_tag_grid_and_viewer(sample: LiveServer, tabs: Any, tmp_path: Path) -> None:
    page = tabs(sample).page
    assert page.goto("/").status == 200
    assert page.locator(".tag").first.inner_text().split() == ["All", "206"]
    thumbnails_loaded(page)
    screenshot(page, "home", tmp_path)

    page.get_by_role("link", name=re.compile(r"^Holiday\s+5$")).click()
    page.wait_for_url("**/tag/Holiday")
    assert page.locator(".tile .name").all_inner_texts() == [f"img{i}.jpg" for i in range(1, 6)]
    thumbnails_loaded(page)

    page.locator(".tile").first.click()
    page.wait_for_url("**/view/Holiday/Holiday/img1.jpg")
    page.wait_for_function("() => document.getElementById('media').naturalWidth === 800")
    assert page.locator("#position").inner_text() == "1 / 5"


def test_screenshots_of_a_grid_and_the_viewer(sample: LiveServer, tabs: Any,
                                              tmp_path: Path) -> None:
    page = tabs(sample).page
    page.goto("/tag/Pets")  # the sample's own pictures (no test files among them)
    thumbnails_loaded(page)
    assert page.locator(".tile").count() == 60
    screenshot(page, "grid", tmp_path)
    page.goto("/tag/Trips")
    page.get_by_role("link", name="sunset[beach family].jpg").click()
    page.wait_for_function("() => document.getElementById('media').complete")
    screenshot(page, "viewer", tmp_path, full_page=True)


def test_arrow_keys_random_and_escape(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/view/Holiday/Holiday/img1.jpg")
    for key, name in [("ArrowRight", "img2"), ("ArrowRight", "img3"), ("ArrowLeft", "img2")]:
        page.keyboard.press(key)
        page.wait_for_url(f"**/view/Holiday/Holiday/{name}.jpg")
        assert page.locator("#name").inner_text() == f"{name}.jpg"
    with page.expect_navigation():
        page.keyboard.press("r")
    assert re.search(r"/view/Holiday/Holiday/img[1-5]\.jpg$", page.url)
    position = int(page.locator("#position").inner_text().split(" / ")[0]) - 1
    page.keyboard.press("Escape")
    page.wait_for_url(f"**/tag/Holiday#f{position}")
    assert page.locator(f"#f{position}").is_visible()


def test_next_image_is_preloaded(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    with page.expect_request("**/media/Holiday/img3.jpg") as preloaded:
        page.goto("/view/Holiday/Holiday/img2.jpg")
    assert preloaded.value.response().status == 200


def test_video_plays_and_seeks_with_range_requests(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    ranges: list[tuple[str | None, int]] = []
    page.on("response", lambda r: ranges.append((r.request.headers.get("range"), r.status))
            if "/media/Clips/clip.mp4" in r.url else None)
    page.goto("/view/Clips/Clips/clip.mp4")
    played, seeked, duration = page.evaluate("""async () => {
        const v = document.getElementById('media');
        v.muted = true;
        await v.play();
        await new Promise(done => {
            const check = () => v.currentTime > 0.3 ? done() : requestAnimationFrame(check);
            check();
        });
        const played = v.currentTime;
        v.pause();
        const seeked = new Promise(done => v.addEventListener('seeked', done, {once: true}));
        v.currentTime = 3.0;
        await seeked;
        return [played, v.currentTime, v.duration];
    }""")
    assert played > 0.3
    assert seeked == pytest.approx(3.0, abs=0.05)
    assert duration == pytest.approx(4.0, abs=0.15)
    assert any(header and header.startswith("bytes=") and status == 206
               for header, status in ranges), ranges


@pytest.mark.parametrize("url", ["/", "/tag/All", "/view/Holiday/Holiday/img1.jpg",
                                 "/view/Clips/Clips/clip.mp4", "/search?q=img"])
def test_pages_fit_a_phone(sample: LiveServer, tabs: Any, url: str) -> None:
    page = tabs(sample, PHONE).page
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator(".top").bounding_box()["width"] == PHONE["width"]


def test_phone_screenshots(sample: LiveServer, tabs: Any, tmp_path: Path) -> None:
    page = tabs(sample, PHONE, scale=2).page
    page.goto("/tag/Trips")
    thumbnails_loaded(page)
    screenshot(page, "phone-grid", tmp_path)
    page.goto("/view/Beach/Trips/2024/Beach/b.jpg")  # stored sideways: shown upright
    page.wait_for_function("() => document.getElementById('media').complete")
    assert page.evaluate("document.getElementById('media').naturalHeight") == 640
    screenshot(page, "phone-viewer", tmp_path)


def test_search_from_the_top_bar(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/")
    page.keyboard.press("/")
    page.keyboard.type("holiday img3")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=holiday+img3")
    assert page.locator(".tile .name").all_inner_texts() == ["img3.jpg"]


def test_viewer_says_when_its_file_vanished(tmp_path: Path, start_server: Any,
                                            tabs: Any) -> None:
    root = make_tree(tmp_path / "lib", HOLIDAY)
    server = start_server(root)
    page = tabs(server).page
    page.goto("/view/Holiday/Holiday/img2.jpg")
    (root / "Holiday/img2.jpg").unlink()
    page.click("#rescan")
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert notice.inner_text().startswith("This file was removed from the library")
    page.click("#notice-back")
    page.wait_for_url("**/tag/Holiday")
    assert page.locator(".tile .name").all_inner_texts() == [
        "img1.jpg", "img3.jpg", "img4.jpg", "img5.jpg"]


def browse_step(page: Any, step: int) -> str:
    """One user action on ``page``; returns what was done. Each must load a whole page."""
    kind = step % 6
    if kind == 0:
        response = page.goto("/tag/All?page=2")
        assert response.status == 200
        assert page.locator(".tile").count() == 60
        return "grid"
    if kind == 1:
        with page.expect_navigation() as nav:
            page.locator(".tile").nth(step % 60).click()
        assert nav.value.status == 200
        page.locator("#name").wait_for()
        return "open a file"
    if kind == 2:
        with page.expect_navigation() as nav:
            page.keyboard.press("ArrowRight")
        assert nav.value.status == 200
        return "next"
    if kind == 3:
        with page.expect_navigation() as nav:
            page.keyboard.press("r")
        assert nav.value.status == 200
        page.locator("#name").wait_for()
        return "random"
    if kind == 4:
        response = page.goto("/")
        assert response.status == 200
        assert page.locator(".tag").first.inner_text().split()[0] == "All"
        return "home"
    response = page.goto("/search?q=sunset")
    assert response.status == 200
    assert page.locator(".tile").count() > 0
    return "search"


@pytest.mark.timeout(180)
def test_first_build_then_browsing_through_a_rescan(tmp_path: Path, start_server: Any,
                                                    tabs: Any) -> None:
    """Tens of thousands of files. While the first index builds, a friendly page waits and
    opens by itself; then, through a rescan, one tab watches the banner and the footer while
    another keeps browsing, and the new files show up after the swap."""
    root = tmp_path / "big"
    make_library(root, 30_000, empty=True)
    make_tree(root, HOLIDAY)
    server = start_server(root, idle=False)
    watcher = tabs(server).page
    response = watcher.goto("/tag/Holiday")
    # Before the first part (1,000 files) is served, or once a part the walk published
    # before it reached Holiday is: either way the page waits and reloads itself.
    assert response.status in (503, 404)
    assert watcher.locator("h1").inner_text() in (
        "Building the index for the first time", "Not found yet")
    watcher.locator(".tile").first.wait_for()  # the page reloaded itself when the index was ready
    # The first walk may have served a part of the library first: the whole is there after it.
    generation = server.wait_idle()["generation"]
    watcher.reload()
    assert watcher.locator(".tile").count() == 5
    make_tree(root, {f"Fresh/new{i}.jpg": jpeg_bytes((400, 300), c)
                     for i, c in enumerate(COLORS[:3], 1)})
    browser = tabs(server).page
    browser.goto("/")
    banner = watcher.locator("#banner")
    # Recorded, not polled: a loaded machine has shown the progress of this short scan
    # only between two polls, and "Scan finished" at both.
    record_texts(watcher, "banner-text")
    watcher.click("#rescan")
    banner.wait_for(state="visible")
    # "Scan requested…" first, then the scan's own progress from /api/events
    wait_text_seen(watcher, "banner-text", "Scanning the library")

    # Browse on while the scan runs. A scan of a few new files is now a short
    # delta (a fraction of a second), so what is checked is that pages were
    # answered while it ran: some step's time overlaps the scan's.
    done, spans = [], []
    while len(done) < 6 or server.status()["scanning"]:
        began = time.time()
        done.append(browse_step(browser, len(done)))
        spans.append((began, time.time()))
    scan = server.status()["last_scan"]
    assert any(a < scan["finished_at"] and b > scan["started_at"] for a, b in spans), (
        done, spans, scan["started_at"], scan["finished_at"])

    watcher.wait_for_function(
        "() => document.getElementById('banner-text').textContent.startsWith('Scan finished')")
    assert banner.inner_text().startswith("Scan finished: 30,008 files (+3).")
    assert watcher.locator("#st-gen").inner_text() == str(generation + 1)
    assert watcher.locator("#st-files").inner_text() == "30,008"
    banner.wait_for(state="hidden")

    browser.goto("/tag/Fresh")
    assert browser.locator(".tile .name").all_inner_texts() == ["new1.jpg", "new2.jpg",
                                                               "new3.jpg"]
    thumbnails_loaded(browser)
