"""Issue 25 in a real browser: a name written in Latin-1 shows as ``Café``, marked as a guess.

The folder and the file on disk have names that are not UTF-8; the pages show them
decoded as Windows-1252 with the guess marker, and every link still reaches the
exact bytes (the picture loads, stepping works).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ..support import LiveServer, jpeg_bytes, make_tree

pytestmark = pytest.mark.browser

NOTE = "name not UTF-8, shown as Windows-1252 (a best guess)"


@pytest.fixture
def latin1(tmp_path: Path, start_server: Any) -> LiveServer:
    root = make_tree(
        tmp_path / "lib",
        {
            b"Caf\xe9/\xe9t\xe9 No\xebl.jpg": jpeg_bytes((640, 480), (200, 30, 30)),
            b"Caf\xe9/plain.jpg": jpeg_bytes((640, 480), (30, 200, 30)),
            "Café/utf8.jpg": jpeg_bytes((640, 480), (30, 30, 200)),
        },
    )
    return start_server(root)  # type: ignore[no-any-return]


def test_a_latin1_folder_and_name_show_as_cafe_marked_as_a_guess(
    latin1: LiveServer,
    tabs: Any,
) -> None:
    page = tabs(latin1).page
    page.goto("/")
    guessed = page.locator(".tag-name.guessed")
    assert (guessed.inner_text(), guessed.get_attribute("title")) == ("Café", NOTE)
    assert page.locator(".tag-name:not(.guessed)", has_text="Café").count() == 1  # UTF-8
    with page.expect_navigation():
        guessed.click()
    assert page.url.endswith("/tag/Caf%E9")
    assert page.locator("h1 .guessed").inner_text() == "Café"
    name = page.locator(".tile .name.guessed")
    assert name.inner_text() == "été Noël.jpg"
    # The marker is there to see, not only in the markup.
    style = name.evaluate("e => getComputedStyle(e).textDecorationStyle")
    assert style == "dotted"

    page.locator(".tile:has(.name.guessed)").click()
    page.wait_for_url(re.compile(r"/view/Caf%E9/Caf%E9/%E9t%E9%20No%EBl\.jpg"))
    heading = page.locator("#name")
    assert (heading.inner_text(), heading.get_attribute("title")) == ("été Noël.jpg", NOTE)
    assert "guessed" in (heading.get_attribute("class") or "")
    assert page.title() == "été Noël.jpg · mediasrv"
    # The picture's URL carries the exact bytes: the server finds the file.
    page.wait_for_function("() => document.querySelector('#media').naturalWidth > 0")
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")  # plain.jpg comes first: p sorts before 0xE9
    assert page.url.endswith("/view/Caf%E9/Caf%E9/plain.jpg")
    assert page.locator("#name").inner_text() == "plain.jpg"
    assert page.locator("#name.guessed").count() == 0  # only its folder is a guess
    page.keyboard.press("i")  # the folder is shown in the details panel
    assert page.locator("#details .guessed").inner_text() == "Café"


def test_a_suggestion_shows_the_guess_and_says_so(latin1: LiveServer, tabs: Any) -> None:
    page = tabs(latin1).page
    page.goto("/")
    page.locator("form.search input").press_sequentially(
        "no", delay=20
    )  # the index has "no", not "noël"
    link = page.locator("#suggest li a")
    link.wait_for()
    assert link.locator(".sg-name").inner_text() == "été Noël.jpg"
    assert link.get_attribute("title") == f"Café/été Noël.jpg — {NOTE}"
    with page.expect_navigation():
        link.click()
    assert page.url.endswith("/view/All/Caf%E9/%E9t%E9%20No%EBl.jpg?q=no")
    page.wait_for_function("() => document.querySelector('#media').naturalWidth > 0")
