"""iPhone and modern camera formats: HEIC/HEIF (pillow-heif) and AVIF (Pillow's own).

Every sample is made here: a landscape picture, red on top and blue below,
stored with EXIF orientation 6 ("turn 90° clockwise to show"), the way phones
store portrait photos. Shown upright it is a portrait, blue on the left and
red on the right.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from mediasrv.index.cachedir import CacheDir
from mediasrv.index.filerows import Probed
from mediasrv.media import images
from mediasrv.scan import fullbuild, probe
from mediasrv.scan.job import run_scan
from mediasrv.scan.walk import walk
from mediasrv.settings import Settings

from .conftest import make_tree

RED, BLUE = (220, 30, 30), (30, 40, 220)
STORED = (640, 480)  # as the sensor wrote it; shown as 480 x 640
TAKEN, OFFSET, SUBSEC = "2021:06:05 10:20:30", "+09:00", "5"
# DateTimeOriginal and its OffsetTimeOriginal, SubSecTimeOriginal live in the Exif sub-IFD
EXIF_IFD, DATE_TAKEN, DATE_OFFSET, DATE_SUBSEC = 0x8769, 0x9003, 0x9011, 0x9291
TAKEN_NS = 1_622_856_030_500_000_000  # 2021-06-05T01:20:30.5Z


def sideways_photo(fmt: str, size: tuple[int, int] = STORED) -> bytes:
    """A real ``fmt`` (HEIF or AVIF) file of a sideways photo with its date taken."""
    images.register_formats()
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0], size[1] // 2))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[EXIF_IFD] = {DATE_TAKEN: TAKEN, DATE_OFFSET: OFFSET, DATE_SUBSEC: SUBSEC}
    out = io.BytesIO()
    img.save(out, fmt, quality=80, exif=exif.tobytes())
    return out.getvalue()


SAMPLES = {"IMG_0001.HEIC": "HEIF", "burst.heif": "HEIF", "pixel.avif": "AVIF"}


def near(pixel: tuple[int, ...], color: tuple[int, int, int], slack: int = 40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, color, strict=False))


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    return {name: sideways_photo(fmt) for name, fmt in SAMPLES.items()}


@pytest.fixture
async def client(started: Callable[..., Any], tmp_path: Path, samples: dict[str, bytes],
                 settings_for: Callable[..., Settings]) -> TestClient:
    root = make_tree(tmp_path / "lib", {f"Phone/{name}": data for name, data in samples.items()})
    return await started(settings_for(root))


@pytest.mark.parametrize("name", SAMPLES)
def test_probing_reads_the_shown_size(tmp_path: Path, samples: dict[str, bytes],
                                      name: str) -> None:
    path = tmp_path / name
    path.write_bytes(samples[name])
    found = probe.probe_file(str(path), "image")
    assert (found.width, found.height) == (480, 640)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_date_taken_is_readable_where_pictures_are_opened(
    tmp_path: Path, samples: dict[str, bytes], name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(samples[name])
    with images.open_image(str(path)) as img:
        assert img.getexif().get_ifd(EXIF_IFD)[DATE_TAKEN] == TAKEN


@pytest.mark.parametrize("name", SAMPLES)
def test_probing_reads_the_date_taken(tmp_path: Path, samples: dict[str, bytes],
                                      name: str) -> None:
    path = tmp_path / name
    path.write_bytes(samples[name])
    assert probe.probe_file(str(path), "image") == Probed(
        width=480, height=640, taken_ns=TAKEN_NS)
    # 10:20:30.5 at +09:00
    assert datetime.fromtimestamp(TAKEN_NS // 10**9, UTC) == datetime(
        2021, 6, 5, 1, 20, 30, tzinfo=UTC)
    assert TAKEN_NS % 10**9 == 500_000_000


def test_heic_heif_and_avif_are_formats_pictures_are_read_in() -> None:
    assert {"heic", "heif", "avif"} <= images.register_formats()


def test_a_fresh_process_reads_heic_for_thumbnails_and_probing(
    tmp_path: Path, samples: dict[str, bytes]
) -> None:
    """Nothing else has registered the plugin there: the readers do it themselves."""
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(samples["IMG_0001.HEIC"])
    script = (
        "import sys\n"
        "from mediasrv.media import thumbmake\nfrom mediasrv.scan import probe\n"
        "print(len(thumbmake.make_image(sys.argv[1], 320)) > 0,\n"
        "      probe.probe_file(sys.argv[1], 'image'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1)[0] == "True"
    assert "width=480, height=640" in done.stdout


@pytest.mark.parametrize("name", SAMPLES)
async def test_a_scan_stores_the_shown_size(client: TestClient, name: str) -> None:
    resp = await client.get("/api/file", params={"path": f"Phone/{name}"})
    assert resp.status == 200
    file = (await resp.json())["file"]
    assert (file["kind"], file["width"], file["height"]) == ("image", 480, 640)


@pytest.mark.parametrize("name", SAMPLES)
async def test_thumbnail_is_a_jpeg_shown_upright(client: TestClient, name: str) -> None:
    resp = await client.get(f"/thumb/Phone/{name}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(await resp.read()))
    assert (thumb.format, thumb.size) == ("JPEG", (240, 320))
    assert near(thumb.getpixel((60, 160)), BLUE)  # the bottom of the stored picture: left
    assert near(thumb.getpixel((180, 160)), RED)  # its top: right


def test_an_index_made_before_these_formats_were_read_is_probed_again(
    tmp_path: Path, samples: dict[str, bytes]
) -> None:
    root = make_tree(tmp_path / "lib", {"Phone/IMG_0001.HEIC": samples["IMG_0001.HEIC"]})
    cache = CacheDir(tmp_path / "cache")
    cache.ensure()
    # probe_version 1 could not read HEIC: the file has no size in that index.
    records, number = list(walk(root)), cache.next_number()
    cache.publish(number, lambda tmp: fullbuild.write(
        tmp, number, records, root=str(root.resolve()), meta={"probe_version": 1}))
    result = run_scan(root, cache)  # nothing changed on disk
    assert (result.status, result.probe["probed"]) == ("published", 1)
    conn = sqlite3.connect(cache.current)
    try:
        assert conn.execute("SELECT width, height, taken_ns FROM files").fetchall() == [
            (480, 640, TAKEN_NS)]
    finally:
        conn.close()
