"""The viewer: where a file stands (a tag or a search), what it shows of a picture, odd URLs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.settings import Settings

from .support import big_jpeg, h264_bytes, jpeg_bytes, make_tree, page, parse


@pytest.fixture
def viewer_library(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", {
        "Trips/Beach/sunset1.jpg": jpeg_bytes(),
        "Trips/Beach/IMG_3.jpg": jpeg_bytes(),
        "Trips/Beach/big.jpg": big_jpeg(),
        "Trips/Beach/scan.tif": b"II*\x00 not really a TIFF",
        "Trips/Beach/anim.gif": b"GIF89a",
        "Trips/City/sunset2.jpg": jpeg_bytes(),
        "Trips/City/sunset3.mp4": h264_bytes(1.0),
        "Home/sunset4.jpg": jpeg_bytes(),
        "Home/IMG_30.jpg": jpeg_bytes(),
        "Home/img3.png": b"\x89PNG\r\n\x1a\n broken",
    })


@pytest.fixture
async def vclient(started: Callable[..., Any], viewer_library: Path,
                  settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(viewer_library))


# -- opened from a search ---------------------------------------------------------


async def test_search_results_open_the_viewer_among_the_results(vclient: TestClient) -> None:
    links = parse(await page(vclient, "/search?q=sunset"))
    views = [u for u in links.urls if u.startswith("/view/")]
    assert views == [
        "/view/All/Home/sunset4.jpg?q=sunset", "/view/All/Trips/Beach/sunset1.jpg?q=sunset",
        "/view/All/Trips/City/sunset2.jpg?q=sunset", "/view/All/Trips/City/sunset3.mp4?q=sunset",
    ]
    assert links.ids["random"]["href"] == "/random/All?q=sunset"


async def test_the_viewer_steps_through_the_results_and_goes_back_to_them(
    vclient: TestClient,
) -> None:
    html = await page(vclient, "/view/All/Trips/Beach/sunset1.jpg?q=sunset")
    ids = parse(html).ids
    assert ids["prev"]["href"] == "/view/All/Home/sunset4.jpg?q=sunset"
    assert ids["next"]["href"] == "/view/All/Trips/City/sunset2.jpg?q=sunset"
    assert ids["back"]["href"] == "/search?q=sunset#f1"
    assert ids["random"]["href"] == "/random/All?q=sunset"
    assert '<span class="pos" id="position">2 / 4</span>' in html
    assert "“sunset”" in html


async def test_the_last_result_has_no_next(vclient: TestClient) -> None:
    ids = parse(await page(vclient, "/view/All/Trips/City/sunset3.mp4?q=sunset")).ids
    assert "next" not in ids
    assert ids["back"]["href"] == "/search?q=sunset#f3"


async def test_a_query_of_several_words_round_trips(vclient: TestClient) -> None:
    ids = parse(await page(vclient, "/view/All/Trips/City/sunset2.jpg?q=city%20sun")).ids
    assert ids["back"]["href"] == "/search?q=city+sun#f0"
    assert "next" in ids and ids["next"]["href"].endswith("?q=city+sun")


async def test_a_file_no_longer_among_the_results_is_shown_on_its_own(
    vclient: TestClient,
) -> None:
    resp = await vclient.get("/view/All/Home/IMG_30.jpg?q=sunset", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/view/All/Home/IMG_30.jpg")


async def test_random_among_the_results(vclient: TestClient) -> None:
    for _ in range(5):
        resp = await vclient.get("/random/All?q=sunset", allow_redirects=False)
        assert resp.status == 302
        assert "/sunset" in resp.headers["Location"]
        assert resp.headers["Location"].endswith("?q=sunset")


async def test_random_among_no_results_goes_back_to_the_search(vclient: TestClient) -> None:
    resp = await vclient.get("/random/All?q=zebra", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/search?q=zebra")


# -- what the viewer shows of a picture --------------------------------------------


async def test_a_large_picture_is_shown_as_a_preview_with_the_original_a_click_away(
    vclient: TestClient, viewer_library: Path,
) -> None:
    st = (viewer_library / "Trips/Beach/big.jpg").stat()
    ids = parse(await page(vclient, "/view/Beach/Trips/Beach/big.jpg")).ids
    assert ids["media"]["src"] == f"/preview/Trips/Beach/big.jpg?v={st.st_size}-{st.st_mtime_ns}"
    assert ids["original"]["href"] == "/media/Trips/Beach/big.jpg"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "shown"), [
    ("Trips/Beach/IMG_3.jpg", "/media/"),  # small enough as it is
    ("Trips/Beach/anim.gif", "/media/"),  # a JPEG would stop its animation
    ("Trips/Beach/scan.tif", "/preview/"),  # browsers do not show TIFF
])
async def test_what_is_shown_of_each_picture(vclient: TestClient, path: str, shown: str) -> None:
    ids = parse(await page(vclient, f"/view/All/{path}")).ids
    assert ids["media"]["src"].startswith(shown + path)
    assert ids["media"]["data-preview"].startswith("/preview/" + path)
    assert "hidden" in ids["broken"]  # there, for when the picture cannot be shown


async def test_the_next_picture_is_fetched_ahead_as_it_will_be_shown(
    vclient: TestClient,
) -> None:
    ids = parse(await page(vclient, "/view/Beach/Trips/Beach/anim.gif")).ids
    assert ids["next"]["href"] == "/view/Beach/Trips/Beach/big.jpg"
    assert ids["preload"]["href"].startswith("/preview/Trips/Beach/big.jpg?v=")


# -- URLs that name no file of a tag -------------------------------------------------


async def test_a_view_url_without_a_tag_opens_the_file_in_all(vclient: TestClient) -> None:
    resp = await vclient.get("/view/Trips/Beach/IMG_3.jpg", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/view/All/Trips/Beach/IMG_3.jpg")


async def test_a_view_of_a_name_that_is_no_file_says_so_helpfully(vclient: TestClient) -> None:
    html = await page(vclient, "/view/nope.jpg", 404)
    assert "This file is not in the library" in html
    assert "“nope.jpg” is not in the library" in html
    assert parse(html).ids["back"]["href"] == "/tag/All"
    assert "Not Found" not in html


async def test_a_page_that_does_not_exist_says_which(vclient: TestClient) -> None:
    resp = await vclient.get("/nowhere/at/all", headers={"Accept": "text/html"})
    html = await resp.text()
    assert resp.status == 404
    assert "No such page" in html and "There is no page at “/nowhere/at/all”." in html


async def test_an_unknown_tag_offers_every_file(vclient: TestClient) -> None:
    html = await page(vclient, "/tag/Nope", 404)
    assert "There is no tag named “Nope” in the library." in html
    assert parse(html).ids["back"]["href"] == "/tag/All"
