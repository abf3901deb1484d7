"""The grid in a real browser: month headings, the scrubber (a rail on a desktop, a list on
a phone) jumping to a month pages away, the order switch staying in place, rows that keep
each picture's shape, and pages that load as you scroll, with Back returning to the tile."""

from __future__ import annotations

import calendar
import os
import re
from pathlib import Path
from typing import Any

import pytest

from mediasrv.server.timeline import MONTH_NAMES

from ..support import LiveServer, jpeg_bytes, make_tree
from ..support.browser import COLORS, DESKTOP, PHONE, screenshot, thumbnails_loaded

pytestmark = pytest.mark.browser

PER_MONTH = 7  # so that pages of 60 begin mid-month
SHAPES = [(160, 120), (90, 160), (200, 100), (120, 120)]  # landscape, portrait, wide, square
MONTHS = 20  # December 2024 back to May 2023: 140 files, three grid pages by date


def month_back(i: int) -> tuple[int, int]:
    """(year, month) ``i`` months before December 2024."""
    n = 2024 * 12 + 11 - i
    return n // 12, n % 12 + 1


def where(i: int) -> str:
    """The grid page and anchor where the month ``i`` months back starts."""
    year, month = month_back(i)
    number = i * PER_MONTH // 60 + 1
    return f"/tag/Years?sort=taken{f'&page={number}' if number > 1 else ''}" \
           f"#m-{year}-{month:02d}"


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("timeline") / "lib"
    files: dict[str | bytes, bytes | str] = {}
    when: dict[str, int] = {}
    for i in range(MONTHS):
        year, month = month_back(i)
        for j in range(PER_MONTH):
            name = f"Years/{year}-{month:02d}-{j}.jpg"
            files[name] = jpeg_bytes(SHAPES[(i + j) % len(SHAPES)], COLORS[(i + j) % len(COLORS)])
            # mid-month at noon UTC: the same month in any time zone
            when[name] = calendar.timegm((year, month, 14, 12, 0, j, 0, 0, 0))
    make_tree(root, files)
    for name, t in when.items():
        os.utime(root / name, (t, t))
    return root


@pytest.fixture
def server(years: Path, start_server: Any) -> LiveServer:
    started: LiveServer = start_server(years)
    return started


def first_tile_after(page: Any, heading_id: str) -> str:
    return str(page.evaluate(
        "id => document.getElementById(id).nextElementSibling"
        ".querySelector('.tile .name').textContent", heading_id))


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size[
        "height"]


def test_headings_where_months_start_and_the_rail_jumps_pages_away(
    server: LiveServer, tabs: Any, tmp_path: Path,
) -> None:
    page = tabs(server, {"width": 1280, "height": 900}).page
    page.goto("/tag/Years?sort=taken")
    headings = page.locator("h2.month").all_inner_texts()
    assert headings[:3] == ["December 2024", "November 2024", "October 2024"]
    # page 1 (9 months, the last one begun) and what scrolling has loaded already: one
    # heading a month, in order, whatever the page breaks
    assert headings == [f"{MONTH_NAMES[m - 1]} {y}" for y, m in map(month_back,
                                                                   range(len(headings)))]
    assert len(headings) >= -(-60 // PER_MONTH)
    assert first_tile_after(page, "m-2024-11") == f"2024-11-{PER_MONTH - 1}.jpg"  # newest
    thumbnails_loaded(page)
    screenshot(page, "timeline", tmp_path)

    assert where(MONTHS - 1) == "/tag/Years?sort=taken&page=3#m-2023-05"
    page.locator("#scrubber summary", has_text="2023").click()
    page.locator("#scrubber a[href$='#m-2023-05']").click()
    page.wait_for_url("**" + where(MONTHS - 1))
    assert in_view(page, "#m-2023-05")
    first = page.locator("#m-2023-05 + ul .tile").first
    assert first.locator(".name").inner_text() == f"2023-05-{PER_MONTH - 1}.jpg"
    assert in_view(page, "#m-2023-05 + ul li:first-child")
    assert page.locator("#scrubber details[open] summary", has_text="2023").count() == 1
    # Page 3 opened as itself begins mid-month: its first heading says the month goes on.
    page.goto("/tag/Years?sort=taken&page=3")
    assert page.locator("h2.month").first.inner_text().endswith("continued")
    assert page.locator("#scrubber details[open] summary").inner_text() == "2023"


def test_on_a_phone_the_list_goes_to_a_month(server: LiveServer, tabs: Any, tmp_path: Path) -> None:
    page = tabs(server, PHONE).page
    page.goto("/tag/Years?sort=taken")
    assert not page.locator("#scrubber").is_visible()
    assert not page.locator("#month-go").is_visible()  # the list goes by itself
    thumbnails_loaded(page)
    screenshot(page, "phone-timeline", tmp_path)
    assert where(10) == "/tag/Years?sort=taken&page=2#m-2024-02"
    page.select_option("#month-select", "2024-02")
    page.wait_for_url("**" + where(10))
    assert in_view(page, "#m-2024-02")
    assert first_tile_after(page, "m-2024-02") == f"2024-02-{PER_MONTH - 1}.jpg"
    assert page.locator("#month-select").input_value() != ""


def test_the_order_switch_stays_in_place(server: LiveServer, tabs: Any) -> None:
    page = tabs(server, DESKTOP).page
    page.goto("/tag/Years")
    by_name = page.locator("#sort").bounding_box()
    page.get_by_role("link", name="Date taken").click()
    page.wait_for_url("**/tag/Years?sort=taken")
    assert page.locator("#sort").bounding_box() == by_name
    page.get_by_role("link", name="Name").click()
    page.wait_for_url("**/tag/Years")
    assert page.locator("h2.month").count() == 0


def tiles(page: Any) -> int:
    return int(page.locator("#sections li").count())


def test_rows_keep_each_pictures_shape_and_show_names_on_hover(server: LiveServer,
                                                                 tabs: Any) -> None:
    page = tabs(server, {"width": 1280, "height": 900}).page
    page.goto("/tag/Years")
    thumbnails_loaded(page)
    boxes = page.evaluate(
        "() => Array.from(document.querySelectorAll('#sections li')).slice(0, 12).map(li => {"
        "  const r = li.querySelector('img').getBoundingClientRect();"
        "  return [r.top, r.width / r.height, li.dataset.w / li.dataset.h]; })")
    for _, shown, stated in boxes:
        assert abs(shown - stated) < 0.05 * stated  # the whole picture, not a square crop
    rows: dict[int, int] = {}
    for top, *_ in boxes:
        rows[round(top)] = rows.get(round(top), 0) + 1
    assert len(rows) >= 2 and max(rows.values()) >= 3  # several to a row
    page.mouse.move(5, 5)  # over the header, away from every tile
    page.wait_for_function("() => getComputedStyle("
                           "document.querySelector('#sections li .name')).opacity === '0'")
    page.locator("#sections li .tile").first.hover()
    page.wait_for_function("() => getComputedStyle("
                           "document.querySelector('#sections li .name')).opacity === '1'")


def test_scrolling_loads_the_next_pages_and_back_returns_to_the_tile(server: LiveServer,
                                                                      tabs: Any) -> None:
    page = tabs(server, {"width": 1280, "height": 900}).page
    page.goto("/tag/Years?sort=taken")
    assert tiles(page) < 140  # not all of it: the rest comes as the reader scrolls
    assert not page.locator("nav.pager").is_visible()
    page.mouse.wheel(0, 40_000)
    page.wait_for_function("() => document.querySelectorAll('#sections li').length >= 120")
    page.mouse.wheel(0, 40_000)
    page.wait_for_function("() => document.querySelectorAll('#sections li').length === 140")
    page.locator("#more").wait_for(state="detached")
    ids = page.evaluate("() => Array.from(document.querySelectorAll('#sections li'), l => l.id)")
    assert ids == [f"f{i}" for i in range(140)]
    # A month that ran over a page keeps one heading, its tiles in one list.
    year, month = month_back(8)
    heading = page.locator(f"h2.month[data-month='{year}{month:02d}']")
    assert heading.count() == 1 and page.locator("h2.month.continued").count() == 0
    assert page.locator(f"#m-{year}-{month:02d} + ul li").count() == PER_MONTH

    page.evaluate("document.getElementById('f70').scrollIntoView()")
    # The address follows: the page and the first tile of the row at the top (f70's row).
    page.wait_for_url(re.compile(r".*/tag/Years\?sort=taken&page=2#f(6\d|70)$"))
    here = page.url
    page.locator("#f70 .tile").click()
    page.wait_for_url("**/view/Years/**")
    page.go_back()
    page.wait_for_url(here)
    page.locator("#f70").wait_for()
    assert in_view(page, "#f70")
    # A reload of that address (what Back gives without the page cache) is there too.
    page.reload()
    page.locator("#f70").wait_for()
    page.wait_for_function("() => document.getElementById('f70')"
                           ".getBoundingClientRect().top >= 0")
    assert in_view(page, "#f70")
