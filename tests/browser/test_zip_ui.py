"""The grid's Download button in a real browser: the tag as one zip, named after the tag."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from ..conftest import make_tree
from ..test_thumbs import jpeg_bytes
from .conftest import COLORS, PHONE, Server

pytestmark = pytest.mark.browser

FILES = {f"Été 2024/pic{i + 1}.jpg": jpeg_bytes((400, 300), c) for i, c in enumerate(COLORS)}


@pytest.fixture
def summer(tmp_path: Path, start_server: Any) -> Server:
    server: Server = start_server(make_tree(tmp_path / "lib", {**FILES, "Other/x.jpg": "x"}))
    return server


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_download_saves_the_tag_as_one_zip(summer: Server, tabs: Any,
                                           viewport: dict[str, int] | None) -> None:
    tab = tabs(summer) if viewport is None else tabs(summer, viewport)
    page = tab.page
    page.goto("/tag/%C3%89t%C3%A9%202024")
    button = page.get_by_role("link", name="Download")
    assert button.is_visible()
    with page.expect_download() as started:
        button.click()
    download = started.value
    assert download.suggested_filename == "Été 2024.zip"
    assert download.failure() is None
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.testzip() is None
        assert {i.filename: archive.read(i) for i in archive.infolist()} == {
            name: data for name, data in FILES.items()}
