"""Names that are not UTF-8 are shown as Windows-1252, a best guess marked as one.

Only what people read changes: paths, URLs, tag keys and search words keep the
exact bytes (or the index's U+FFFD form), so every lookup works as before.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from mediasrv.names import display, is_clean, printable, query_words, search_words, tag_key
from mediasrv.settings import Settings

from .support import jpeg_bytes, make_tree, page, parse

NOTE = "name not UTF-8, shown as Windows-1252 (a best guess)"
NOEL = b"Caf\xe9/\xe9t\xe9 \x96 No\xebl.jpg"  # written in Windows-1252: Café/été – Noël.jpg
NOEL_URL = "Caf%E9/%E9t%E9%20%96%20No%EBl.jpg"


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def escaped(raw: bytes) -> str:
    """``raw`` as Python hands a name on disk to us (``os.fsdecode``)."""
    return raw.decode("utf-8", "surrogateescape")


# -- the guess -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"caf\xe9.jpg", "café.jpg"),  # Latin-1
        (b"Don\x92t \x96 \x80 5.jpg", "Don’t – € 5.jpg"),  # Windows-1252 punctuation
        (b"a\x81\x8d\x8f\x90\x9d.jpg", "a\x81\x8d\x8f\x90\x9d.jpg"),  # undefined: as Latin-1
        (b"\xc3\xa9t\xe9", "Ã©té"),  # a name is decoded whole, UTF-8 look-alikes too
        (b"Caf\xc3\xa9/caf\xe9.jpg", "Café/café.jpg"),  # each name on its own
        (b"\xff/ok/\xfe", "ÿ/ok/þ"),
    ],
)
def test_a_name_that_is_not_utf8_is_shown_as_windows_1252(raw: bytes, shown: str) -> None:
    assert display(escaped(raw)) == shown


def test_utf8_names_are_shown_as_they_are() -> None:
    for name in ("Trips/2024/img2.jpg", "Café/été – Noël.jpg", "\ufffd.jpg", "日本/写真.jpg"):
        assert display(name) == name


def test_keys_and_search_words_keep_the_index_form() -> None:
    """What generations hold and delta builds carry is made as before: U+FFFD per byte."""
    name = escaped(b"Caf\xe9/\xe9t\xe9 No\xebl.jpg")
    assert printable(name) == "Caf\ufffd/\ufffdt\ufffd No\ufffdl.jpg"
    assert tag_key(escaped(b"CAF\xe9")) == tag_key(escaped(b"caf\xff")) == "caf\ufffd"
    assert search_words(name) == {"caf", "t", "no", "l", "jpg"}
    assert query_words("café") == ["café"]  # so café does not find it: caf does


@given(st.lists(st.binary(max_size=12).filter(lambda b: b"/" not in b), min_size=1, max_size=4))
def test_every_name_shows_as_valid_utf8_with_one_character_per_guessed_byte(
    parts: list[bytes],
) -> None:
    raw = b"/".join(parts)
    shown = display(escaped(raw))
    assert is_clean(shown)
    assert shown.split("/") == [
        part.decode() if is_clean(escaped(part)) else display(escaped(part)) for part in parts
    ]
    for part, seen in zip(parts, shown.split("/"), strict=True):
        if not is_clean(escaped(part)):
            assert len(seen) == len(part)


# -- in a library ----------------------------------------------------------------


@pytest.fixture
def pictures() -> dict[str | bytes, bytes]:
    return {
        NOEL: jpeg_bytes(color=(10, 20, 30)),
        b"Caf\xe9/plain.jpg": jpeg_bytes(color=(40, 50, 60)),  # a UTF-8 name in that folder
        "Café/utf8.jpg": jpeg_bytes(color=(70, 80, 90)),  # a UTF-8 folder spelled alike
        b"Don\x92t.jpg": jpeg_bytes(color=(100, 110, 120)),
    }


@pytest.fixture
async def gclient(
    tmp_path: Path,
    pictures: dict[str | bytes, bytes],
    started: Callable[..., Any],
    settings_for: Callable[..., Settings],
) -> TestClient:
    return await started(settings_for(make_tree(tmp_path / "lib", pictures)))


async def test_the_api_shows_the_guess_and_says_so(gclient: TestClient) -> None:
    body = await (await gclient.get("/api/files?tag=All")).json()
    assert [(f["path"], f["display_path"], f["name_guessed"], f["url"]) for f in body["files"]] == [
        ("Café/utf8.jpg", "Café/utf8.jpg", False, "/media/Caf%C3%A9/utf8.jpg"),
        ("Caf\udce9/plain.jpg", "Café/plain.jpg", True, "/media/Caf%E9/plain.jpg"),
        (escaped(NOEL), "Café/été – Noël.jpg", True, f"/media/{NOEL_URL}"),
        ("Don\udc92t.jpg", "Don’t.jpg", True, "/media/Don%92t.jpg"),
    ]
    tags = await (await gclient.get("/api/tags")).json()
    assert [t["name"] for t in tags["tags"]] == ["All", "Favourites", "Café", "Caf\udce9"]


async def test_the_url_answers_the_exact_file(
    gclient: TestClient, tmp_path: Path, pictures: dict[str | bytes, bytes]
) -> None:
    detail = await (await gclient.get(f"/api/file?path={NOEL_URL}&tag=Caf%E9")).json()
    assert (detail["file"]["display_path"], detail["file"]["name_guessed"]) == (
        "Café/été – Noël.jpg",
        True,
    )
    media = await gclient.get(detail["file"]["url"])
    with open(os.path.join(os.fsencode(tmp_path / "lib"), NOEL), "rb") as f:
        on_disk = f.read()
    assert media.status == 200
    assert await media.read() == on_disk == pictures[NOEL]


async def test_tag_lookups_and_search_work_as_before(gclient: TestClient) -> None:
    for spelling in ("Caf%E9", "CAF%E9", "caf%FF"):  # one tag: the key folds the bad bytes
        body = await (await gclient.get(f"/api/files?tag={spelling}")).json()
        assert (body["tag"], [f["display_path"] for f in body["files"]]) == (
            "Caf\udce9",
            ["Café/plain.jpg", "Café/été – Noël.jpg"],
        )

    async def found(q: str) -> list[str]:
        body = await (await gclient.get("/api/search", params={"q": q})).json()
        return [f["display_path"] for f in body["files"]]

    assert await found("caf") == ["Café/utf8.jpg", "Café/plain.jpg", "Café/été – Noël.jpg"]
    assert await found("café") == ["Café/utf8.jpg"]  # the index's words are not guessed
    assert await found("no") == ["Café/été – Noël.jpg"]


async def test_the_grid_shows_the_guess_marked(gclient: TestClient) -> None:
    html = await page(gclient, "/tag/Caf%E9")
    assert f'<h1><span class="guessed" title="{NOTE}">Café</span> <span class="muted">' in html
    assert '<span class="name guessed">été – Noël.jpg</span>' in html
    assert '<span class="name">plain.jpg</span>' in html  # its folder is the guess
    assert f'title="Café/plain.jpg — {NOTE}"' in html
    assert f'title="Café/été – Noël.jpg — {NOTE}"' in html
    assert f"/view/Caf%E9/{NOEL_URL}" in parse(html).urls


async def test_utf8_names_are_not_marked(gclient: TestClient) -> None:
    html = await page(gclient, "/tag/Caf%C3%A9")
    assert '<h1>Café <span class="muted">' in html
    assert '<span class="name">utf8.jpg</span>' in html
    assert 'title="Café/utf8.jpg"' in html
    assert "guessed" not in html and NOTE not in html
    view = await page(gclient, "/view/Caf%C3%A9/Caf%C3%A9/utf8.jpg")
    assert '<h1 id="name">utf8.jpg</h1>' in view
    assert "<dt>Folder</dt><dd>Café</dd>" in view
    assert "guessed" not in view


async def test_the_viewer_shows_the_guess_marked(gclient: TestClient) -> None:
    html = await page(gclient, f"/view/Caf%E9/{NOEL_URL}")
    assert "<title>été – Noël.jpg · mediasrv</title>" in html
    assert f'<h1 id="name" class="guessed" title="{NOTE}">été – Noël.jpg</h1>' in html
    assert f'<dt>Folder</dt><dd class="guessed" title="{NOTE}">Café</dd>' in html
    assert parse(html).ids["media"]["alt"] == "été – Noël.jpg"
    assert parse(html).ids["original"]["href"] == f"/media/{NOEL_URL}"
    plain = await page(gclient, "/view/Caf%E9/Caf%E9/plain.jpg")
    assert '<h1 id="name">plain.jpg</h1>' in plain
    assert f'<dt>Folder</dt><dd class="guessed" title="{NOTE}">Café</dd>' in plain


async def test_home_and_search_show_the_guess_marked(gclient: TestClient) -> None:
    home = await page(gclient, "/")
    assert f'<span class="tag-name guessed" title="{NOTE}">Café</span>' in home
    assert '<span class="tag-name">Café</span>' in home  # the UTF-8 folder
    assert "/tag/Caf%E9" in parse(home).urls and "/tag/Caf%C3%A9" in parse(home).urls
    results = await page(gclient, "/search?q=don")
    assert '<span class="name guessed">Don’t.jpg</span>' in results
    assert "/view/All/Don%92t.jpg?q=don" in parse(results).urls


async def test_a_zip_names_its_members_with_the_guess(
    gclient: TestClient, pictures: dict[str | bytes, bytes]
) -> None:
    resp = await gclient.get("/api/zip?tag=Caf%E9")
    body = await resp.read()
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"Caf_.zip\"; filename*=UTF-8''Caf%C3%A9.zip"
    )
    assert unzip(body) == {
        "Café/plain.jpg": pictures[b"Caf\xe9/plain.jpg"],
        "Café/été – Noël.jpg": pictures[NOEL],
    }
