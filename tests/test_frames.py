"""A grid page put into its frame (server/frames.py) is byte for byte the page Jinja
renders with the same values; a frame is made once per tag, order and generation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import Markup

from mediasrv.server import frames, grid, render
from mediasrv.server.frames import FRAMES, Slot
from mediasrv.settings import Settings

from .support import jpeg_bytes, make_tree, page, rescan

# A tag with what HTML escapes and letters beyond ASCII (the frame is not ASCII then);
# 130 files: three pages, the first, a middle one and the last.
TAG = "Tom & Jérôme"


@pytest.fixture
async def tclient(
    started: Callable[..., Any], tmp_path: Path, settings_for: Callable[..., Settings]
) -> TestClient:
    picture = jpeg_bytes()
    files: dict[str | bytes, bytes | str] = {f"{TAG}/p{i:03d}.jpg": picture for i in range(128)}
    files[f"{TAG}/<b>'é'.jpg"] = picture  # a path Python writes (SQLite writes the others)
    files[f"{TAG}/x&y.jpg"] = picture
    return await started(settings_for(make_tree(tmp_path / "lib", files)))


def _put(value: Any, values: dict[str, Any]) -> Any:
    """``value`` with each ``Slot`` in it (in lists and sections too) its value."""
    if isinstance(value, Slot):
        found = values[value.strip("\x00")]
        return Markup(found.decode()) if isinstance(found, bytes) else found  # HTML as bytes
    if isinstance(value, list):
        return [_put(v, values) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, tiles=_put(value.tiles, values))  # type: ignore[arg-type]
    return value


def _rendered(
    request: web.Request,
    template: str,
    snap: Any,
    key: tuple[Any, ...],
    context: Callable[[], dict[str, Any]],
    values: dict[str, Any],
) -> web.Response:
    """The page as Jinja renders it with the values in (what ``framed`` must give)."""
    made = {name: _put(value, values) for name, value in context().items()}
    return render.render(request, template, snap=snap, **made)


async def test_a_framed_page_is_the_page_jinja_renders(
    tclient: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [f"/tag/Tom%20%26%20J%C3%A9r%C3%B4me?page={n}" for n in (1, 2, 3)]
    framed = [await page(tclient, url) for url in urls]
    again = [await page(tclient, url) for url in urls]  # from the frames kept
    monkeypatch.setattr(grid.frames, "framed", _rendered)
    expected = [await page(tclient, url) for url in urls]
    assert framed == expected and again == expected
    assert "Page 2 of 3" in expected[1] and "Tom &amp; Jérôme" in expected[1]
    assert "&lt;b&gt;&#39;é&#39;.jpg" in expected[0] and "x&amp;y.jpg" in expected[2]


async def test_a_frame_is_made_once_per_tag_and_generation(
    tclient: TestClient, tmp_path: Path
) -> None:
    kept = tclient.app[FRAMES]
    for n in (1, 2, 3):
        await page(tclient, f"/tag/All?page={n}")
    # pages 1, 2 and 3 differ in their links (no previous page, both, no next page)
    assert len(kept) == 3
    for n in (2, 3, 2):
        await page(tclient, f"/tag/All?page={n}")
    assert len(kept) == 3
    # A file changed, none added: a new generation of as many files, a new frame.
    (tmp_path / "lib" / TAG / "p000.jpg").write_bytes(jpeg_bytes() + b"more")
    await rescan(tclient)
    html = await page(tclient, "/tag/All?page=2")
    assert len(kept) == 4
    assert '<b id="st-gen">2</b>' in html and "130 files" in html


async def test_an_empty_tag_is_framed_too(tclient: TestClient) -> None:
    html = await page(tclient, "/tag/Favourites")
    assert "This tag has no files." in html
    assert "\x00" not in html


def test_a_slot_marks_each_format_of_its_value() -> None:
    assert Slot("page") == "\x00page\x00"
    assert f"{Slot('page'):,}" == "\x00page:,\x00"
    assert frames._value(12345, ",") == b"12,345"
    assert frames._value("/a?b=1&c=2", "") == b"/a?b=1&amp;c=2"
    assert frames._value(b"<li>\n", "") == b"<li>\n"


@pytest.mark.parametrize("tag", ["All", "Tom & J\u00e9r\u00f4me", "100% #1?"])
@pytest.mark.parametrize("sort", ["name", "taken"])
def test_page_links_are_tag_urls(tag: str, sort: str) -> None:
    for number, pages in ((1, 1), (1, 3), (2, 3), (3, 3), (11, 12)):
        expected = (
            render.tag_url(tag, number - 1, sort) if number > 1 else None,
            render.tag_url(tag, number + 1, sort) if number < pages else None,
        )
        assert grid._links(tag, number, pages, sort) == expected
