"""The HTML pages: what each one shows, escaping, odd names, errors and links."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.settings import Settings

from .support import h264_bytes, jpeg_bytes, make_app, make_tree, page, parse, rescan

ODD = b"Odd/caf\xe9 <b>.jpg"  # not valid UTF-8, and markup in the name
SCRIPT = "Odd/<script>alert(1)<script>.jpg"


@pytest.fixture
def odd_library(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", {
        "Trips/Beach/img1.jpg": jpeg_bytes(),
        "Trips/Beach/img2.jpg": jpeg_bytes(),
        "Trips/Beach/img10.jpg": jpeg_bytes(),
        "Trips/Beach/clip.mp4": h264_bytes(1.0),
        "Music/song.mp3": b"ID3",
        "notes.txt": "text",
        ODD: jpeg_bytes(),
        SCRIPT: jpeg_bytes(),
        "100% #1?/pic.jpg": jpeg_bytes(),
    })


@pytest.fixture
async def oclient(started: Callable[..., Any], odd_library: Path,
                  settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(odd_library))


# -- the home page -----------------------------------------------------------


async def test_home_lists_tags_with_counts_all_first(client: TestClient) -> None:
    html = await page(client, "/")
    tags = re.findall(r'"tag-name">([^<]*)</span><span class="count">(\d+)</span>', html)
    assert tags[:2] == [("All", "7"), ("Favourites", "0")]
    assert ("Beach", "4") in tags  # the folder and [beach]: one tag
    assert len(tags) == 9


async def test_home_links_each_tag(client: TestClient) -> None:
    links = parse(await page(client, "/"))
    assert {"/tag/All", "/tag/Beach", "/tag/2024", "/tag/family"} <= set(links.urls)


async def test_footer_shows_files_generation_and_last_scan(client: TestClient) -> None:
    html = await page(client, "/")
    assert '<b id="st-files">7</b> files' in html
    assert '<b id="st-gen">1</b>' in html
    assert re.search(r'<time id="st-time" datetime="\d{4}-\d\d-\d\dT[^"]+"', html)


async def test_home_of_an_empty_library(started: Callable[..., Any], tmp_path: Path,
                                        settings_for: Callable[..., Settings]) -> None:
    (tmp_path / "empty").mkdir()
    client = await started(settings_for(tmp_path / "empty"))
    html = await page(client, "/")
    assert "The library is empty" in html


# -- the grid ----------------------------------------------------------------


async def test_grid_shows_each_file_with_name_kind_and_thumbnail(oclient: TestClient) -> None:
    html = await page(oclient, "/tag/Beach")
    names = re.findall(r'<span class="name">([^<]*)</span>', html)
    assert names == ["clip.mp4", "img1.jpg", "img2.jpg", "img10.jpg"]
    assert '<span class="badge">video</span>' in html
    links = parse(html)
    assert "/view/Beach/Trips/Beach/img2.jpg" in links.urls
    assert any(u.startswith("/thumb/Trips/Beach/img2.jpg?v=") for u in links.urls)


async def test_grid_escapes_a_script_in_a_name(oclient: TestClient) -> None:
    html = await page(oclient, "/tag/Odd")
    assert "&lt;script&gt;alert(1)&lt;script&gt;.jpg" in html
    assert "<script>alert" not in html
    assert "/view/Odd/Odd/%3Cscript%3Ealert%281%29%3Cscript%3E.jpg" in parse(html).urls


async def test_grid_shows_a_name_that_is_not_utf8(oclient: TestClient) -> None:
    html = await page(oclient, "/tag/Odd")
    assert '<span class="name guessed">café &lt;b&gt;.jpg</span>' in html
    assert "/view/Odd/Odd/caf%E9%20%3Cb%3E.jpg" in parse(html).urls


@pytest.fixture
async def big_client(started: Callable[..., Any], tmp_path: Path,
                     settings_for: Callable[..., Settings]) -> TestClient:
    root = make_tree(tmp_path / "big", {f"Many/f{i:03d}.txt": "x" for i in range(130)})
    return await started(settings_for(root))


@pytest.mark.slow
async def test_grid_is_paged(big_client: TestClient) -> None:
    first = await page(big_client, "/tag/Many")
    assert len(re.findall(r'class="tile ', first)) == 60
    assert parse(first).ids["next"]["href"] == "/tag/Many?page=2"
    last = await page(big_client, "/tag/Many?page=3")
    assert len(re.findall(r'class="tile ', last)) == 10
    assert 'id="f129"' in last
    assert "Page 3 of 3" in last
    assert "next" not in parse(last).ids


async def test_page_past_the_end_redirects_to_the_last(big_client: TestClient) -> None:
    resp = await big_client.get("/tag/Many?page=9", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/tag/Many?page=3")


async def test_bad_page_number_is_400_page(big_client: TestClient) -> None:
    html = await page(big_client, "/tag/Many?page=abc", 400)
    assert "page must be a whole number" in html


async def test_unknown_tag_is_a_404_page(client: TestClient) -> None:
    html = await page(client, "/tag/Nope", 404)
    assert "No such tag" in html
    assert "/" in parse(html).urls


async def test_tag_with_url_characters_round_trips(oclient: TestClient) -> None:
    home = parse(await page(oclient, "/"))
    assert "/tag/100%25%20%231%3F" in home.urls
    grid = await page(oclient, "/tag/100%25%20%231%3F")
    assert "<h1>100% #1? " in grid
    view = "/view/100%25%20%231%3F/100%25%20%231%3F/pic.jpg"
    assert view in parse(grid).urls
    assert "pic.jpg" in await page(oclient, view)


async def test_grid_links_to_the_tag_as_one_zip(oclient: TestClient) -> None:
    ids = parse(await page(oclient, "/tag/100%25%20%231%3F")).ids
    assert ids["download"]["href"] == "/api/zip?tag=100%25+%231%3F"
    resp = await oclient.get(ids["download"]["href"])
    assert resp.headers["Content-Disposition"] == 'attachment; filename="100% #1?.zip"'
    assert resp.content_type == "application/zip"


# -- the viewer ----------------------------------------------------------------


async def test_view_image_with_neighbours(oclient: TestClient) -> None:
    html = await page(oclient, "/view/Beach/Trips/Beach/img2.jpg")
    ids = parse(html).ids
    assert (ids["media"]["tag"], ids["media"]["src"]) == ("img", "/media/Trips/Beach/img2.jpg")
    assert ids["prev"]["href"] == "/view/Beach/Trips/Beach/img1.jpg"
    assert ids["next"]["href"] == "/view/Beach/Trips/Beach/img10.jpg"
    assert ids["random"]["href"] == "/random/Beach"
    assert ids["back"]["href"] == "/tag/Beach#f2"
    assert ids["position"] and "3 / 4" in html


@pytest.mark.slow
async def test_view_preloads_the_next_image(oclient: TestClient) -> None:
    ids = parse(await page(oclient, "/view/Beach/Trips/Beach/img2.jpg")).ids
    assert (ids["preload"]["rel"], ids["preload"]["href"]) == (
        "prefetch", "/media/Trips/Beach/img10.jpg")


async def test_view_ends_have_no_step_past_them(oclient: TestClient) -> None:
    first = parse(await page(oclient, "/view/Beach/Trips/Beach/clip.mp4")).ids
    last = parse(await page(oclient, "/view/Beach/Trips/Beach/img10.jpg")).ids
    assert ("prev" in first, "next" in first, "prev" in last, "next" in last) == (
        False, True, True, False)
    assert "preload" not in last


@pytest.mark.parametrize(
    ("path", "element"),
    [("Trips/Beach/clip.mp4", "video"), ("Music/song.mp3", "audio")],
)
async def test_view_plays_video_and_audio(oclient: TestClient, path: str, element: str) -> None:
    media = parse(await page(oclient, f"/view/All/{path}")).ids["media"]
    assert (media["tag"], media["src"], "controls" in media) == (element, f"/media/{path}", True)


async def test_view_other_file_offers_to_open_it(oclient: TestClient) -> None:
    ids = parse(await page(oclient, "/view/All/notes.txt")).ids
    assert ids["open"]["href"] == "/media/notes.txt"
    assert "media" not in ids


async def test_view_name_that_is_not_utf8_round_trips(oclient: TestClient) -> None:
    html = await page(oclient, "/view/Odd/Odd/caf%E9%20%3Cb%3E.jpg")
    assert ('<h1 id="name" class="guessed" title="name not UTF-8, shown as Windows-1252 '
            '(a best guess)">café &lt;b&gt;.jpg</h1>') in html
    assert parse(html).ids["media"]["src"] == "/media/Odd/caf%E9%20%3Cb%3E.jpg"
    media = await oclient.get("/media/Odd/caf%E9%20%3Cb%3E.jpg")
    assert media.status == 200


async def test_view_escapes_a_script_in_a_name(oclient: TestClient) -> None:
    html = await page(oclient, "/view/All/Odd/%3Cscript%3Ealert%281%29%3Cscript%3E.jpg")
    assert '<h1 id="name">&lt;script&gt;alert(1)&lt;script&gt;.jpg</h1>' in html
    assert "<script>alert" not in html


async def test_view_of_an_unknown_file_is_404_with_a_way_back(oclient: TestClient) -> None:
    html = await page(oclient, "/view/Beach/Trips/Beach/nope.jpg", 404)
    assert "This file is not in the library" in html
    assert parse(html).ids["back"]["href"] == "/tag/Beach"


async def test_view_in_an_unknown_tag_moves_to_all(oclient: TestClient) -> None:
    resp = await oclient.get("/view/Nope/Trips/Beach/img1.jpg", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/view/All/Trips/Beach/img1.jpg")


async def test_view_of_an_unknown_file_in_an_unknown_tag(oclient: TestClient) -> None:
    html = await page(oclient, "/view/Nope/nope.jpg", 404)
    assert parse(html).ids["back"]["href"] == "/tag/All"


async def test_view_of_a_file_deleted_since_the_scan(oclient: TestClient,
                                                     odd_library: Path) -> None:
    (odd_library / "Trips/Beach/img2.jpg").unlink()
    html = await page(oclient, "/view/Beach/Trips/Beach/img2.jpg", 404)
    assert "This file is no longer here" in html
    assert "“img2.jpg” was deleted or moved" in html
    assert parse(html).ids["back"]["href"] == "/tag/Beach"


async def test_view_stays_valid_across_a_rescan(oclient: TestClient, odd_library: Path) -> None:
    make_tree(odd_library, {"Trips/Beach/img3.jpg": jpeg_bytes()})
    await rescan(oclient)
    ids = parse(await page(oclient, "/view/Beach/Trips/Beach/img2.jpg")).ids
    assert ids["next"]["href"] == "/view/Beach/Trips/Beach/img3.jpg"


async def test_view_of_a_file_removed_by_a_rescan(oclient: TestClient, odd_library: Path) -> None:
    (odd_library / "Trips/Beach/img2.jpg").unlink()
    await rescan(oclient)
    html = await page(oclient, "/view/Beach/Trips/Beach/img2.jpg", 404)
    assert "This file is not in the library" in html


async def test_view_back_link_finds_the_files_page(big_client: TestClient) -> None:
    ids = parse(await page(big_client, "/view/Many/Many/f075.txt")).ids
    assert ids["back"]["href"] == "/tag/Many?page=2#f75"


# -- random and search -------------------------------------------------------


async def test_random_redirects_to_a_view_in_the_tag(oclient: TestClient) -> None:
    resp = await oclient.get("/random/Beach", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/view/Beach/Trips/Beach/")


async def test_random_in_an_unknown_tag_is_404(oclient: TestClient) -> None:
    await page(oclient, "/random/Nope", 404)


async def test_search_finds_by_name(oclient: TestClient) -> None:
    html = await page(oclient, "/search?q=img")
    names = re.findall(r'<span class="name">([^<]*)</span>', html)
    assert names == ["img1.jpg", "img2.jpg", "img10.jpg"]
    assert "/view/All/Trips/Beach/img1.jpg?q=img" in parse(html).urls


async def test_search_escapes_the_query(oclient: TestClient) -> None:
    html = await page(oclient, "/search?q=%3Cscript%3Ealert")
    assert "“&lt;script&gt;alert”" in html
    assert "<script>alert" not in html
    assert 'value="&lt;script&gt;alert"' in html


async def test_search_without_a_query_explains_itself(oclient: TestClient) -> None:
    html = await page(oclient, "/search")
    assert "Type a few letters" in html


async def test_search_without_matches(oclient: TestClient) -> None:
    html = await page(oclient, "/search?q=zebra")
    assert "Nothing matches “zebra”." in html


# -- errors, first build, static files, links --------------------------------


async def test_first_build_shows_a_friendly_page(
    aiohttp_client: Callable[..., Any], lib_root: Path, settings_for: Callable[..., Settings],
) -> None:
    app = make_app(settings_for(lib_root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    resp = await client.get("/tag/All")
    assert (resp.status, resp.headers["Retry-After"]) == (503, "2")
    html = await resp.text()
    assert "Building the index for the first time" in html
    api = await client.get("/api/tags")
    assert (await api.json())["error"]["code"] == "index_not_ready"


async def test_unknown_path_is_an_html_404_for_browsers(client: TestClient) -> None:
    resp = await client.get("/nowhere", headers={"Accept": "text/html"})
    assert resp.status == 404
    assert "Not found" in await resp.text()


async def test_pages_send_security_headers(client: TestClient) -> None:
    resp = await client.get("/")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_static_files_are_served_and_cached_by_version(client: TestClient) -> None:
    links = parse(await page(client, "/"))
    css = next(u for u in links.urls if u.startswith("/static/app.css?v="))
    resp = await client.get(css)
    assert (resp.status, resp.headers["Content-Type"]) == (200, "text/css")
    assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    unversioned = await client.get("/static/app.css")
    assert unversioned.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("url", ["/static/nope.js", "/static/%2e%2e/templates/base.html",
                                 "/static/..%2Ftemplates%2Fbase.html"])
async def test_only_static_files_are_static(client: TestClient, url: str) -> None:
    assert (await client.get(url)).status == 404


async def test_no_broken_links(oclient: TestClient) -> None:
    """Follow every link of every page reachable from / (one level of views deep)."""
    seen: set[str] = set()
    queue = ["/", "/search?q=img"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = await oclient.get(url)
        assert resp.status == 200, url
        if resp.headers["Content-Type"].startswith("text/html"):
            for link in parse(await resp.text()).urls:
                if link.startswith("/random/") or link == "/api/rescan":
                    continue  # a redirect that changes every time; a POST
                if url.startswith("/view/") and link.startswith("/view/"):
                    continue  # neighbours are views of their own; stop the walk there
                queue.append(link)
    # every file's thumbnail, and the high-density one of each picture, video and song (a cover)
    assert len([u for u in seen if u.startswith("/thumb/")]) == 9 + 8
    # every file in every tag in both orders (the grid's switch), and the results of the search
    assert len([u for u in seen if u.startswith("/view/")]) == 21 * 2 + 3
    assert len([u for u in seen if u.startswith("/view/") and u.endswith("?sort=taken")]) == 21


async def test_pages_on_the_memory_backend(started: Callable[..., Any], odd_library: Path,
                                           settings_for: Callable[..., Settings]) -> None:
    client = await started(settings_for(odd_library, state="memory"))
    grid = parse(await page(client, "/tag/Odd"))
    assert "/view/Odd/Odd/caf%E9%20%3Cb%3E.jpg" in grid.urls
    ids = parse(await page(client, "/view/Beach/Trips/Beach/img2.jpg")).ids
    assert ids["next"]["href"] == "/view/Beach/Trips/Beach/img10.jpg"


async def test_pages_and_thumbnails_with_an_access_token(
    started: Callable[..., Any], odd_library: Path, settings_for: Callable[..., Settings],
) -> None:
    client = await started(settings_for(odd_library, token="s3cret-0123456789"))
    assert (await client.get("/")).status == 401
    await page(client, "/?token=s3cret-0123456789")  # sets the cookie the page's own requests carry
    assert (await client.get("/tag/Beach")).status == 200
    assert (await client.get("/thumb/Trips/Beach/img1.jpg")).status == 200
