"""Share links in a real browser: the owner's dialog and list, and a recipient without the token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ..support import h264_bytes, jpeg_bytes, make_tree
from ..support.browser import COLORS, PHONE, RECORD, screenshot, thumbnails_loaded, wait_shown

pytestmark = pytest.mark.browser

TOKEN = "a-browser-test-token-0123456789"
DIALOG_VIEW = {"width": 1280, "height": 900}


def trip_library(root: Path) -> Path:
    files: dict[str | bytes, bytes | str] = {
        f"Trips/Beach/beach{i + 1}.jpg": jpeg_bytes((800, 600), c) for i, c in enumerate(COLORS)}
    files["Trips/Beach/waves.mp4"] = h264_bytes(2.0, (320, 240))
    files["Home/secret.jpg"] = jpeg_bytes((800, 600), (10, 10, 10))
    return make_tree(root, files, mtime=None)


def make_link(tabs: Any, server: Any, tmp_path: Path) -> str:
    """The owner shares Trips/Beach through the dialog; returns the link it shows."""
    owner = tabs(server, DIALOG_VIEW)
    page = owner.page
    page.goto(f"/tag/Beach?token={TOKEN}")  # signed in: the cookie keeps the token
    thumbnails_loaded(page)
    page.click("#share")
    page.select_option("#share-expiry", "86400")
    page.check("#share-download")
    with page.expect_response("**/api/shares?tag=Beach&expires_in=86400&download=1") as made:
        page.click("#share-create")
    assert made.value.status == 201
    # The dialog fills the field once it has read the answer: wait for that, not for the
    # answer alone (on a loaded machine the field was read still empty). A function, not an
    # expression: Playwright polls an expression with eval, which the page's CSP refuses.
    page.wait_for_function("() => document.querySelector('#share-url').value !== ''")
    link = page.locator("#share-url").input_value()
    assert link.startswith(f"{server.url}/s/") and link.endswith("/")
    screenshot(page, "share-dialog", tmp_path)
    return link


def test_a_recipient_without_the_token_browses_views_and_plays(tmp_path: Path,
                                                              start_server: Any,
                                                              tabs: Any) -> None:
    server = start_server(trip_library(tmp_path / "lib"), token=TOKEN)
    link = make_link(tabs, server, tmp_path)
    recipient = tabs(server, PHONE, 3)
    page = recipient.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.removeprefix(server.url)))
    page.goto(link)
    thumbnails_loaded(page)
    names = page.locator(".tile .name").all_inner_texts()
    assert names == ["beach1.jpg", "beach2.jpg", "beach3.jpg", "beach4.jpg", "beach5.jpg",
                     "waves.mp4"]
    assert page.locator("#shares-link, #rescan, .star, #status").count() == 0
    assert page.locator("#download").get_attribute("href") == link.removeprefix(server.url) + "zip"
    screenshot(page, "share-phone", tmp_path)

    page.click("#f0 .tile")
    page.wait_for_url("**/view/Trips/Beach/beach1.jpg")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/view/Trips/Beach/beach2.jpg")
    page.select_option("#slide-interval", "1")
    page.evaluate(RECORD)
    page.keyboard.press("s")  # the slideshow steps within the tag, under the link
    wait_shown(page, "beach4.jpg")
    page.keyboard.press("Escape")  # paused where it was: that file's viewer, in the share
    page.wait_for_url(re.compile(re.escape(link) + r"view/Trips/Beach/beach[45]\.jpg$"))
    ranges: list[tuple[str | None, int]] = []
    page.on("response", lambda r: ranges.append((r.request.headers.get("range"), r.status))
            if "/media/Trips/Beach/waves.mp4" in r.url else None)
    page.goto(link + "view/Trips/Beach/waves.mp4")
    played = page.evaluate("""async () => {
        const v = document.getElementById('media');
        v.muted = true;
        await v.play();
        await new Promise(done => {
            const check = () => v.currentTime > 0.3 ? done() : requestAnimationFrame(check);
            check();
        });
        v.pause();
        return v.currentTime;
    }""")
    assert played > 0.3
    assert any(header and header.startswith("bytes=") and status == 206
               for header, status in ranges), ranges
    page.goto(link + "?sort=taken")
    thumbnails_loaded(page)
    page.fill(".search input", "beach 3")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=beach+3")
    assert page.locator(".tile .name").all_inner_texts() == ["beach3.jpg"]
    base = link.removeprefix(server.url)
    elsewhere = [url for url in asked if not url.startswith((base, "/s/static/"))]
    assert elsewhere == []  # nothing outside the share: no /api/, no /static/ of the owner


def test_revoking_on_the_shares_page_closes_the_link(tmp_path: Path, start_server: Any,
                                                     tabs: Any) -> None:
    server = start_server(trip_library(tmp_path / "lib"), token=TOKEN)
    link = make_link(tabs, server, tmp_path)
    recipient = tabs(server, PHONE)
    assert recipient.page.goto(link).status == 200
    owner = tabs(server, DIALOG_VIEW)
    page = owner.page
    page.goto(f"/shares?token={TOKEN}")
    row = page.locator("#shares tbody tr")
    assert row.count() == 1
    assert row.locator("td").first.inner_text() == "Beach"
    assert row.locator("input").input_value() == link
    with page.expect_response(lambda r: "/api/shares/" in r.url) as revoked:
        row.locator(".revoke").click()
    assert revoked.value.status == 204
    assert page.locator("#shares tbody tr").count() == 0
    assert recipient.page.goto(link).status == 404
    assert recipient.page.goto(link + "media/Trips/Beach/beach1.jpg").status == 404
