"""/preview (screen-sized pictures) and /thumb?w=640 (high-density screens)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from mediasrv.media import thumbs
from mediasrv.server.keys import THUMBS
from mediasrv.settings import Settings

from .support import big_jpeg, h264_bytes, jpeg_bytes, make_tree


def sideways_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG stored ``size`` with EXIF orientation 6: shown turned a quarter, portrait."""
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", size, (40, 90, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def picture_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", {
        "Photos/big.jpg": big_jpeg((4000, 3000)),
        "Photos/tall.jpg": sideways_jpeg((3000, 2400)),
        "Photos/small.jpg": jpeg_bytes((800, 600)),
        "Photos/damaged.jpg": big_jpeg()[:600],
        "Photos/fake.jpg": b"this is text, not a picture",
        "Clips/clip.mp4": h264_bytes(1.0, (320, 240)),
    })


@pytest.fixture
async def pclient(started: Callable[..., Any], picture_tree: Path,
                  settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(picture_tree))


async def picture(client: TestClient, url: str) -> Image.Image:
    resp = await client.get(url)
    assert (resp.status, resp.headers["Content-Type"]) == (200, "image/jpeg"), await resp.text()
    return Image.open(io.BytesIO(await resp.read()))


@pytest.mark.slow
async def test_a_large_photo_is_previewed_at_2048_on_its_longest_side(pclient: TestClient) -> None:
    img = await picture(pclient, "/preview/Photos/big.jpg")
    assert (img.format, img.size) == ("JPEG", (2048, 1536))


async def test_a_preview_is_upright(pclient: TestClient) -> None:
    img = await picture(pclient, "/preview/Photos/tall.jpg")
    assert img.size == (1638, 2048)  # stored 3000x2400 sideways: shown 2400x3000


async def test_a_small_picture_is_not_enlarged(pclient: TestClient) -> None:
    assert (await picture(pclient, "/preview/Photos/small.jpg")).size == (800, 600)


async def test_a_preview_is_made_once_and_cached_like_a_thumbnail(
    pclient: TestClient, picture_tree: Path,
) -> None:
    st = (picture_tree / "Photos/big.jpg").stat()
    first = await pclient.get(f"/preview/Photos/big.jpg?v={st.st_size}-{st.st_mtime_ns}")
    second = await pclient.get("/preview/Photos/big.jpg")
    assert await first.read() == await second.read()
    assert pclient.app[THUMBS].made == 1
    assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert second.headers["Cache-Control"] == "private, no-cache"
    key = thumbs.thumb_key("Photos/big.jpg", st.st_size, st.st_mtime_ns, thumbs.PREVIEW)
    assert (pclient.app[THUMBS].directory / key[:2] / f"{key}.jpg").exists()
    again = await pclient.get("/preview/Photos/big.jpg",
                              headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304


async def test_a_changed_photo_gets_a_new_preview(pclient: TestClient, picture_tree: Path) -> None:
    await picture(pclient, "/preview/Photos/big.jpg")
    make_tree(picture_tree, {"Photos/big.jpg": big_jpeg((2500, 2500))}, mtime=1_700_000_000)
    await pclient.post("/api/rescan?wait=1")
    assert (await picture(pclient, "/preview/Photos/big.jpg")).size == (2048, 2048)


@pytest.mark.parametrize("path", ["Photos/damaged.jpg", "Photos/fake.jpg"])
async def test_a_picture_that_cannot_be_decoded_says_why(pclient: TestClient, path: str) -> None:
    resp = await pclient.get(f"/preview/{path}")
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (422, "undecodable")
    message = body["error"]["message"]
    assert message.startswith("this picture cannot be shown: ")
    assert str(pclient.app[THUMBS].directory.parent.parent) not in message  # no server paths
    assert os.sep + "lib" + os.sep not in message
    again = await pclient.get(f"/preview/{path}")  # remembered: tried once
    assert (await again.json())["error"]["message"] == message
    assert pclient.app[THUMBS].made == 1


async def test_a_video_has_no_preview(pclient: TestClient) -> None:
    resp = await pclient.get("/preview/Clips/clip.mp4")
    assert (resp.status, (await resp.json())["error"]["code"]) == (422, "undecodable")


async def test_previews_only_of_indexed_files(pclient: TestClient) -> None:
    for url in ("/preview/nope.jpg", "/preview/../secret.jpg", "/preview/%2e%2e/x.jpg"):
        assert (await pclient.get(url)).status == 404


async def test_thumbnails_for_high_density_screens(pclient: TestClient) -> None:
    assert (await picture(pclient, "/thumb/Photos/big.jpg")).size == (320, 240)
    assert (await picture(pclient, "/thumb/Photos/big.jpg?w=640")).size == (640, 480)
    assert (await picture(pclient, "/thumb/Clips/clip.mp4?w=640")).size == (320, 240)


@pytest.mark.parametrize("query", ["w=500", "w=0", "w=big"])
async def test_only_the_thumbnail_sizes_the_grid_uses(pclient: TestClient, query: str) -> None:
    resp = await pclient.get(f"/thumb/Photos/big.jpg?{query}")
    assert (resp.status, (await resp.json())["error"]["code"]) == (400, "bad_parameter")


def test_pruning_keeps_every_size_of_a_current_file(tmp_path: Path) -> None:
    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    root = make_tree(tmp_path / "lib", {"a.jpg": jpeg_bytes((100, 80))})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    st = (root / "a.jpg").stat()
    maker = thumbs.Thumbnailer(cache.thumbs)
    made = []
    for edge in thumbs.EDGES:
        key = thumbs.thumb_key("a.jpg", st.st_size, st.st_mtime_ns, edge)
        jpeg, _ = maker.paths(key)
        jpeg.parent.mkdir(parents=True, exist_ok=True)
        jpeg.write_bytes(b"x")
        os.utime(jpeg, (1_000_000, 1_000_000))
        made.append(jpeg)
    assert maker.prune(cache.current) == 0
    assert all(p.exists() for p in made)
