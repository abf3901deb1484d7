"""The viewer's slideshow in a real browser: steps, preloads, waits for videos, pauses,
and carries on past a file that a rescan removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..support import h264_bytes, jpeg_bytes, make_tree
from ..support.browser import COLORS, RECORD, shown, wait_shown

pytestmark = pytest.mark.browser

ALBUM = {f"Album/pic{i + 1}.jpg": jpeg_bytes((400, 300), c) for i, c in enumerate(COLORS)}
REEL = {"Reel/1 clip.mp4": h264_bytes(2.0, (160, 120)), "Reel/2 after.jpg": jpeg_bytes()}

def test_s_steps_through_the_tag_preloading_and_any_key_pauses(
    tmp_path: Path, start_server: Any, tabs: Any,
) -> None:
    server = start_server(make_tree(tmp_path / "lib", ALBUM))
    page = tabs(server).page
    page.goto("/view/Album/Album/pic1.jpg")
    page.select_option("#slide-interval", "1")
    page.evaluate(RECORD)
    page.keyboard.press("s")
    page.locator("#show").wait_for()
    wait_shown(page, "pic3.jpg")
    # Each picture was asked for before it was shown (fetched ahead, drawn once loaded).
    order = page.evaluate("""() => window.shown.map(s => {
        const entry = performance.getEntriesByType('resource')
            .find(r => r.name.endsWith('/media/Album/' + s.name));
        return entry ? entry.startTime < s.at : null;
    })""")
    assert order[1:3] == [True, True], order
    page.keyboard.press("ArrowRight")  # any key pauses, and does nothing else
    page.wait_for_url("**/view/Album/Album/pic*.jpg")
    assert page.locator("#show").count() == 0
    paused_at = page.locator("#name").inner_text()
    assert paused_at in ("pic3.jpg", "pic4.jpg")  # where it was when the key came
    assert page.url.endswith(f"/view/Album/Album/{paused_at}")


def test_the_button_and_the_interval_it_remembers(tmp_path: Path, start_server: Any,
                                                  tabs: Any) -> None:
    server = start_server(make_tree(tmp_path / "lib", ALBUM))
    page = tabs(server).page
    page.goto("/view/Album/Album/pic4.jpg")
    page.select_option("#slide-interval", "1")
    page.reload()
    assert page.locator("#slide-interval").input_value() == "1"
    page.evaluate(RECORD)
    page.click("#slideshow")
    wait_shown(page, "pic5.jpg")
    # The last file: the slideshow ends there by itself, in the viewer of that file.
    page.wait_for_url("**/view/Album/Album/pic5.jpg")
    page.locator("#name").wait_for()
    assert page.locator("#show").count() == 0


def test_a_video_plays_to_its_end_before_the_next_file(tmp_path: Path, start_server: Any,
                                                        tabs: Any) -> None:
    server = start_server(make_tree(tmp_path / "lib", REEL))
    page = tabs(server).page
    page.goto("/view/Reel/Reel/1%20clip.mp4")
    page.select_option("#slide-interval", "1")  # shorter than the clip
    page.evaluate(RECORD)
    page.keyboard.press("s")
    page.wait_for_function("() => document.getElementById('show-media')?.tagName === 'VIDEO'")
    wait_shown(page, "2 after.jpg")
    log = page.evaluate("window.shown")
    assert [(s["name"], s["by"]) for s in log] == [("1 clip.mp4", None), ("2 after.jpg", "ended")]


def test_a_rescan_that_removes_the_next_file_is_stepped_over(
    tmp_path: Path, start_server: Any, tabs: Any,
) -> None:
    root = make_tree(tmp_path / "lib", ALBUM)
    server = start_server(root)
    page = tabs(server).page
    page.goto("/view/Album/Album/pic1.jpg")
    page.select_option("#slide-interval", "3")
    page.evaluate(RECORD)
    with page.expect_response("**/media/Album/pic2.jpg"):  # fetched ahead
        page.keyboard.press("s")
    (root / "Album/pic2.jpg").unlink()
    page.evaluate("fetch('/api/rescan?wait=1', {method: 'POST'})")  # resolves once published
    wait_shown(page, "pic3.jpg")
    assert shown(page) == ["pic1.jpg", "pic3.jpg"]
    assert page.locator("#show").count() == 1  # still running
