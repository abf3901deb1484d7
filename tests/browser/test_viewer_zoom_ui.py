"""Issue 25's viewer in a real browser: the whole window, zoom and pan, fullscreen, the
details panel, a video that starts by itself, the toolbar that steps aside.

Headless Chromium drives ``python -m mediasrv serve`` on a library made here: a 640 x 480
photo, a 3000 x 2000 one (shown as a 2048-pixel preview), a photo with a camera's EXIF
(and a place, linked to a map service given with --map-url) and a clip.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from ..support import LiveServer, big_jpeg, camera_jpeg, h264_bytes, jpeg_bytes, make_tree
from ..support.browser import PHONE, screenshot

pytestmark = pytest.mark.browser

WINDOW = {"width": 1280, "height": 900}
BIG = "/view/Photos/Photos/big.jpg"
OSM = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"
BOX = (
    "() => { const r = document.getElementById('media').getBoundingClientRect();"
    " return [r.x, r.y, r.width, r.height]; }"
)


def scene_with_a_camera() -> bytes:
    """A 1600 x 1200 picture of a sunset (for the README's screenshot) with camera_jpeg()'s
    EXIF: camera, lens, exposure, place."""
    picture = Image.new("RGB", (1600, 1200))
    draw = ImageDraw.Draw(picture)
    for y in range(800):  # the sky, from dusk blue to orange
        t = y / 800
        draw.line(
            [(0, y), (1600, y)], fill=(int(40 + 200 * t), int(40 + 110 * t), int(110 - 40 * t))
        )
    draw.rectangle([0, 800, 1600, 1200], fill=(30, 45, 90))  # the sea
    draw.ellipse([1050, 430, 1300, 680], fill=(255, 200, 90))  # the sun
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88, exif=Image.open(io.BytesIO(camera_jpeg())).getexif())
    return out.getvalue()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("zoom")
    root = make_tree(
        base / "lib",
        {
            "Photos/big.jpg": big_jpeg(),
            "Photos/camera.jpg": scene_with_a_camera(),
            "Photos/small.jpg": jpeg_bytes((640, 480)),
            "Clips/clip.mp4": h264_bytes(3.0, (320, 240)),
        },
    )
    # As browser_server() starts it, with a map service for the details' place.
    server = LiveServer(
        root,
        "--cache-dir",
        base / "cache",
        "--port",
        "0",
        "--no-watch",
        "--rescan-interval",
        "0",
        "--map-url",
        OSM,
    )
    try:
        server.wait_idle()
        yield server
    finally:
        server.stop()


def box(page: Any) -> list[float]:
    return [round(v) for v in page.evaluate(BOX)]


def open_picture(page: Any, url: str) -> list[float]:
    """Open the viewer at ``url`` once its picture is sized by the script; its box."""
    page.goto(url)
    page.wait_for_function("() => document.getElementById('stage').classList.contains('zoomable')")
    return box(page)


def wider_than(page: Any, width: float) -> None:
    page.wait_for_function(
        "w => document.getElementById('media').getBoundingClientRect().width > w + 1", arg=width
    )


def test_a_small_photo_is_shown_at_its_own_size(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    x, _, width, height = open_picture(page, "/view/Photos/Photos/small.jpg")
    assert (width, height) == (640, 480)
    stage = page.locator("#stage").bounding_box()
    assert stage["width"] == 1280 and stage["y"] + stage["height"] == 900  # the whole window
    assert stage["y"] < 60  # below a slim toolbar
    assert abs(x - (1280 - 640) / 2) <= 1  # in the middle


def test_the_wheel_and_plus_zoom_and_dragging_pans(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    fitted = open_picture(page, BIG)
    assert fitted[2] <= 1280 and fitted[3] < 900  # the whole picture, in the window
    assert fitted[2] / fitted[3] == pytest.approx(1.5, 0.01)
    page.mouse.move(640, 480)
    page.mouse.wheel(0, -220)
    wider_than(page, fitted[2])
    wheeled = box(page)
    page.keyboard.press("+")
    wider_than(page, wheeled[2])
    zoomed = box(page)
    assert zoomed[2] / zoomed[3] == pytest.approx(1.5, 0.01)  # its shape kept

    page.mouse.move(640, 480)
    page.mouse.down()
    page.mouse.move(540, 430, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => ({BOX})()[0] < {zoomed[0] - 90}")
    panned = box(page)
    assert (panned[0] - zoomed[0], panned[1] - zoomed[1], panned[2]) == (-100, -50, zoomed[2])

    page.keyboard.press("0")  # fitted again
    page.wait_for_function(f"() => Math.round(({BOX})()[2]) === {fitted[2]}")
    assert box(page) == fitted


def test_zooming_past_the_preview_loads_the_original(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    open_picture(page, BIG)
    assert page.evaluate("document.getElementById('media').naturalWidth") == 2048  # a preview
    with page.expect_response("**/media/Photos/big.jpg") as original:
        while box(page)[2] <= 2048:
            page.keyboard.press("+")
    assert original.value.status == 200
    page.wait_for_function("() => document.getElementById('media').naturalWidth === 3000")


def test_a_double_click_zooms_to_the_files_pixels_and_back(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    fitted = open_picture(page, BIG)
    page.mouse.dblclick(640, 480)
    page.wait_for_function(f"() => Math.round(({BOX})()[2]) === 3000")  # 1:1
    page.mouse.dblclick(640, 480)
    page.wait_for_function(f"() => Math.round(({BOX})()[2]) === {fitted[2]}")
    assert box(page) == fitted


def test_the_fullscreen_button_and_f(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    open_picture(page, BIG)
    page.click("#fullscreen")
    page.wait_for_function("() => document.fullscreenElement === document.documentElement")
    page.wait_for_function(
        "() => document.getElementById('fullscreen').getAttribute('aria-pressed') === 'true'"
    )
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null")


def test_i_shows_the_details_panel(photos: LiveServer, tabs: Any, tmp_path: Path) -> None:
    page = tabs(photos, WINDOW).page
    fitted = open_picture(page, "/view/Photos/Photos/camera.jpg")
    details = page.locator("#details")
    assert details.is_hidden()
    page.keyboard.press("i")
    details.wait_for(state="visible")
    assert page.locator("#dimensions").inner_text() == "1600 × 1200 (1.9 MP)"
    assert page.locator("#size").inner_text().endswith("KB")
    assert page.locator("#d-camera").inner_text() == "Canon EOS 5D Mark IV"  # from its EXIF
    assert page.locator("#d-shutter").inner_text() == "1/250 s"
    assert page.locator("#map").inner_text() == "48.14167° N, 11.56708° W"
    assert page.locator("#map").get_attribute("href") == (
        "https://www.openstreetmap.org/?mlat=48.141667&mlon=-11.567083#map=15/48.141667/-11.567083"
    )
    # The stage makes room for the panel: the picture is fitted again, beside it.
    page.wait_for_function(f"() => ({BOX})()[2] < {fitted[2]}")
    assert box(page)[0] + box(page)[2] <= details.bounding_box()["x"]
    screenshot(page, "viewer-details", tmp_path)
    page.reload()  # it stays open from file to file
    details.wait_for(state="visible")
    page.keyboard.press("i")
    details.wait_for(state="hidden")


def test_a_video_starts_by_itself(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    page.goto("/view/Clips/Clips/clip.mp4")
    page.wait_for_function(
        "() => { const v = document.getElementById('media');"
        " return !v.paused && v.currentTime > 0; }"
    )
    assert page.locator("#media").get_attribute("controls") is not None


def test_the_toolbar_steps_aside_and_comes_back(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, WINDOW).page
    open_picture(page, BIG)
    page.mouse.move(600, 500)
    page.wait_for_function("() => document.body.classList.contains('bare')")  # after 2 s
    page.wait_for_function("() => getComputedStyle(document.querySelector('.top')).opacity === '0'")
    page.mouse.move(620, 510)
    page.wait_for_function("() => !document.body.classList.contains('bare')")


def test_on_a_phone_a_tap_toggles_the_toolbar(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, PHONE, touch=True).page
    open_picture(page, BIG)
    page.wait_for_function("() => document.body.classList.contains('bare')")  # by itself
    page.tap("#stage", position={"x": 195, "y": 300})
    page.wait_for_function("() => !document.body.classList.contains('bare')")
    page.tap("#stage", position={"x": 195, "y": 300})
    page.wait_for_function("() => document.body.classList.contains('bare')")


def touch(page: Any, moves: list[list[tuple[int, int]]]) -> None:
    """Fingers on the screen (Chrome's DevTools protocol): where each is, move by move."""
    cdp = page.context.new_cdp_session(page)
    for step, points in enumerate(moves):
        kind = "touchStart" if step == 0 else "touchMove"
        cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [
                    {"x": x, "y": y, "id": finger} for finger, (x, y) in enumerate(points)
                ],
            },
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_on_a_phone_a_pinch_zooms_and_a_swipe_steps(photos: LiveServer, tabs: Any) -> None:
    page = tabs(photos, PHONE, touch=True).page
    fitted = open_picture(page, BIG)
    touch(page, [[(150 - i * 20, 450), (240 + i * 20, 450)] for i in range(6)])
    wider_than(page, fitted[2] * 1.5)  # fingers 90 px apart, then 290: about 3 times
    page.keyboard.press("0")
    page.wait_for_function(f"() => Math.round(({BOX})()[2]) === {fitted[2]}")
    with page.expect_navigation():
        touch(page, [[(300 - i * 40, 450)] for i in range(6)])  # right to left: the next
    assert page.url.endswith("/view/Photos/Photos/camera.jpg")
