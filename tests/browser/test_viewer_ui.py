"""Issue 13 in a real browser: search context, broken pictures, previews, the banner, phones.

Each test drives headless Chromium against ``python -m mediasrv serve`` on the
README's sample library.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ..support import LiveServer
from ..support.browser import PHONE, thumbnails_loaded

pytestmark = pytest.mark.browser


def shown_as_on_its_tile(page: Any) -> str:
    """The name a viewer shows that its file's tile shows too: a song's title, else #name."""
    title = page.locator("#song-title")
    return str(title.inner_text() if title.count() else page.locator("#name").inner_text())


def test_a_search_result_opens_a_viewer_that_steps_through_the_results(
    sample: LiveServer, tabs: Any,
) -> None:
    page = tabs(sample).page
    page.goto("/search?q=sunset")
    names = page.locator(".tile .name").all_inner_texts()
    assert len(names) >= 4 and all("sunset" in n.lower() for n in names)
    page.locator(".tile").first.click()
    page.wait_for_url(re.compile(r"/view/All/.+\?q=sunset$"))
    assert page.locator("#position").inner_text() == f"1 / {len(names)}"
    assert shown_as_on_its_tile(page) == names[0]
    with page.expect_navigation():
        page.keyboard.press("ArrowRight")
    assert page.locator("#position").inner_text() == f"2 / {len(names)}"
    assert shown_as_on_its_tile(page) == names[1]
    assert page.url.endswith("?q=sunset")
    page.keyboard.press("Escape")
    page.wait_for_url("**/search?q=sunset#f1")
    assert page.locator("#f1 .name").inner_text() == names[1]


def test_a_broken_picture_shows_the_grids_icon_and_why(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/tag/Scans")
    grid_icon = page.locator(".tile img").first
    page.wait_for_function("() => document.querySelector('.tile img').complete")
    grid_svg = page.request.get(grid_icon.get_attribute("src")).body()

    page.locator(".tile").first.click()
    broken = page.locator("#broken")
    broken.wait_for(state="visible")
    assert page.locator("#media").is_hidden()
    icon = broken.locator("img")
    page.wait_for_function("() => document.querySelector('#broken img').naturalWidth > 0")
    assert page.request.get(icon.get_attribute("src")).body() == grid_svg  # the same icon
    reason = page.locator("#broken-reason").inner_text()
    assert reason.startswith("This picture cannot be shown: "), reason
    assert "\n" not in reason and "/" not in reason  # one line, and no server path


def test_a_large_photo_is_shown_as_a_screen_sized_preview(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/view/Beach/Trips/2024/Beach/IMG_23.jpg")  # the next file is the panorama
    assert page.locator("#preload").get_attribute("href").startswith(
        "/preview/Trips/2024/Beach/panorama.jpg?v=")
    with page.expect_response(re.compile(r"/preview/Trips/2024/Beach/panorama\.jpg")) as shown:
        page.keyboard.press("ArrowRight")
    assert shown.value.status == 200
    page.wait_for_function("() => document.getElementById('media').naturalWidth > 0")
    size = page.evaluate("[document.getElementById('media').naturalWidth,"
                         " document.getElementById('media').naturalHeight]")
    assert size == [2048, 1536]  # the original is 4000x3000
    assert page.locator("#original").get_attribute("href") == (
        "/media/Trips/2024/Beach/panorama.jpg")


@pytest.mark.parametrize(("scale", "width"), [(1, 320), (2, 640)])
def test_thumbnails_are_sharp_on_high_density_screens(sample: LiveServer, tabs: Any, scale: int,
                                                      width: int) -> None:
    page = tabs(sample, scale=scale).page
    page.goto("/tag/Trips")
    thumbnails_loaded(page)
    first = page.locator(".tile.kind-image img").first
    chosen = first.evaluate("i => i.currentSrc")
    assert ("w=640" in chosen) == (scale == 2)
    pixels = page.evaluate("""url => new Promise(done => {
        const picture = new Image();  // no srcset: its naturalWidth is in pixels
        picture.onload = () => done(picture.naturalWidth);
        picture.src = url;
    })""", chosen)
    assert pixels == width


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE])
def test_the_scan_banner_leaves_the_last_tile_visible(sample: LiveServer, tabs: Any,
                                                      viewport: dict[str, int]) -> None:
    page = tabs(sample, viewport).page
    page.goto("/tag/All?page=1000")  # past the end: the last page, the grid's real end
    assert page.locator("#more").count() == 0 and "page=" in page.url
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    thumbnails_loaded(page)
    page.click("#rescan")
    page.wait_for_function(
        "() => document.getElementById('banner-text').textContent.startsWith('Scan finished')")
    banner = page.locator("#banner").bounding_box()
    label = page.locator(".tile .name").last.bounding_box()
    assert label["y"] + label["height"] <= banner["y"], (label, banner)  # above it, not under
    assert label["y"] >= 0  # and still in the window


def test_the_step_overlays_leave_a_playing_video_alone_on_a_phone(sample: LiveServer,
                                                                  tabs: Any) -> None:
    page = tabs(sample, PHONE).page
    page.goto("/view/All/Clips/clip.mp4")
    step = page.locator(".step-next")
    # It starts by itself (muted: no sound before a click), and the overlays step aside.
    page.wait_for_function("() => document.getElementById('stage').classList.contains('playing')")
    assert step.is_hidden()
    page.evaluate("document.getElementById('media').pause()")
    page.mouse.move(200, 400)  # the toolbar and the overlays come back with the pointer
    step.wait_for(state="visible")


def test_a_songs_length_reads_as_its_player_shows_it(sample: LiveServer, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/view/All/Music/Jazz/Blue%20Evening/01%20Sunset%20Groove.mp3")
    shown = page.locator("#duration").inner_text()
    player = page.evaluate("""async () => {
        const a = document.getElementById('media');
        if (!(a.duration > 0)) await new Promise(r => a.addEventListener('loadedmetadata', r));
        const s = Math.floor(a.duration);  // what the player's clock shows
        return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    }""")
    assert shown == player == "0:02"


def test_signing_in_with_the_token_goes_back_to_the_page(tmp_path: Path, start_server: Any,
                                                        tabs: Any) -> None:
    from ..support import make_tree
    from ..support.browser import HOLIDAY

    server = start_server(make_tree(tmp_path / "lib", HOLIDAY), token="s3cret-0123456789")
    page = tabs(server).page
    assert page.goto("/tag/Holiday").status == 401
    assert page.locator("h1").inner_text() == "Sign in to mediasrv"
    page.fill("#token", "guess")
    page.click("#sign-in")
    page.locator("#wrong").wait_for()
    page.fill("#token", "s3cret-0123456789")
    page.click("#sign-in")
    page.wait_for_url("**/tag/Holiday")
    assert page.locator(".tile").count() == 5
    thumbnails_loaded(page)  # the cookie goes with every request of the page
    page.goto("/view/Holiday/Holiday/img2.jpg")
    page.wait_for_function("() => document.getElementById('media').naturalWidth === 800")
