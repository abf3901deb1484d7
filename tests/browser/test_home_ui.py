"""The home page in a real browser: photos in a phone's first screen, tags grouped with
covers, the tag filter across the groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import PHONE, Server, screenshot, thumbnails_loaded

pytestmark = pytest.mark.browser


def test_a_phone_sees_photos_first(sample: Server, tabs: Any, tmp_path: Path) -> None:
    page = tabs(sample, PHONE).page
    page.goto("/")
    thumbnails_loaded(page)
    shown = page.evaluate(
        "() => Array.from(document.querySelectorAll('.recent .tile img')).filter(i => {"
        "  const r = i.getBoundingClientRect();"
        "  return r.bottom <= innerHeight && r.top >= 0 && i.naturalWidth > 0; }).length")
    assert shown >= 9  # three rows of three at least, before any tag
    assert page.locator(".recent .tile").first.bounding_box()["y"] < 200
    screenshot(page, "phone-home", tmp_path)


def test_the_filter_keeps_to_matching_tags_and_their_groups(sample: Server, tabs: Any) -> None:
    page = tabs(sample).page
    page.goto("/")
    groups = page.locator(".tag-group:not([hidden]) h2")
    assert [g.split()[0] for g in groups.all_inner_texts()] == [
        "Folders", "Years", "Tags", "More"]
    page.fill("#tag-filter", "holi")
    page.wait_for_function("() => document.querySelectorAll("
                           "'#tags li[data-name]:not([hidden])').length === 1")
    assert page.locator("#tags li[data-name]:not([hidden]) .tag-name").inner_text() == "Holiday"
    assert [g.split()[0] for g in groups.all_inner_texts()] == ["Folders"]
    page.fill("#tag-filter", "zzzz")
    page.locator("#tags-none").wait_for()
    assert groups.count() == 0
