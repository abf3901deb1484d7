"""The viewer's details panel: how a camera's figures read, the map link, --map-url."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.errors import UserError
from mediasrv.server.viewer import Detail, camera_name, details, exposure_time
from mediasrv.settings import Settings

from .support import camera_jpeg, jpeg_bytes, make_tree, one_error_line, page, parse, run

OSM = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"
CAMERA = {
    "camera_make": "Canon",
    "camera_model": "Canon EOS R5",
    "lens": "RF24-105mm F4 L IS USM",
    "focal_length_mm": 50.0,
    "f_number": 2.8,
    "exposure_time_s": 0.004,
    "iso": 200,
    "gps_lat": 48.858370,
    "gps_lon": -2.294481,
}
NOTHING = dict.fromkeys(CAMERA)


def test_a_cameras_figures_read_as_on_the_camera() -> None:
    assert details({"details": CAMERA}, OSM) == [
        Detail("camera", "Camera", "Canon EOS R5"),
        Detail("lens", "Lens", "RF24-105mm F4 L IS USM"),
        Detail("focal", "Focal length", "50 mm"),
        Detail("aperture", "Aperture", "f/2.8"),
        Detail("shutter", "Exposure", "1/250 s"),
        Detail("iso", "ISO", "200"),
        Detail(
            "place",
            "Place",
            "48.85837° N, 2.29448° W",
            "https://www.openstreetmap.org/?mlat=48.858370&mlon=-2.294481"
            "#map=15/48.858370/-2.294481",
        ),
    ]


def test_without_a_map_service_the_place_has_no_link() -> None:
    assert details({"details": CAMERA})[-1] == Detail("place", "Place", "48.85837° N, 2.29448° W")


def test_a_share_shows_no_place() -> None:
    assert [d.key for d in details({"details": CAMERA}, OSM, with_place=False)] == [
        "camera",
        "lens",
        "focal",
        "aperture",
        "shutter",
        "iso",
    ]


@pytest.mark.parametrize("file", [{}, {"details": None}, {"details": NOTHING}])
def test_no_details_no_lines(file: dict[str, Any]) -> None:
    assert details(file, OSM) == []


@pytest.mark.parametrize(
    ("make", "model", "shown"),
    [
        ("Canon", "Canon EOS R5", "Canon EOS R5"),
        ("NIKON CORPORATION", "NIKON D750", "NIKON D750"),
        ("FUJIFILM", "X-T4", "FUJIFILM X-T4"),
        ("Apple", None, "Apple"),
        (None, "iPhone 15", "iPhone 15"),
        (None, None, ""),
    ],
)
def test_camera_names(make: str | None, model: str | None, shown: str) -> None:
    assert camera_name(make, model) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (1 / 8000, "1/8000 s"),
        (0.004, "1/250 s"),
        (1 / 3, "0.3 s"),
        (0.25, "1/4 s"),
        (0.5, "0.5 s"),
        (2.0, "2 s"),
        (30.0, "30 s"),
        (0.0, None),
        (None, None),
    ],
)
def test_exposure_times(seconds: float | None, shown: str | None) -> None:
    assert exposure_time(seconds) == shown


@pytest.mark.parametrize(
    "url",
    [
        "",
        OSM,
        "http://maps.local/?q={lat},{lon}",
        "https://example.org/{lon}/{lat}",
    ],
)
def test_a_map_url_is_taken(url: str) -> None:
    assert Settings(map_url=url).map_url == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://maps.example/{lat}/{lon}",
        "https://maps.example/?lat={lat}",
        "{lat},{lon}",
        "javascript:alert('{lat}{lon}')",
        "https:///{lat}/{lon}",
    ],
)
def test_a_map_url_must_be_http_with_both_places(url: str) -> None:
    with pytest.raises(UserError, match=r"--map-url .* must be an http\(s\) URL with \{lat\} "):
        Settings(map_url=url)


@pytest.mark.process
def test_a_bad_map_url_is_refused_in_one_line(tmp_path: Path) -> None:
    line = one_error_line(run("serve", str(tmp_path), "--map-url", "maps.example/{lat}"))
    assert line == (
        "mediasrv: error: --map-url 'maps.example/{lat}' must be an http(s) URL "
        "with {lat} and {lon} in it, such as "
        "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
    )


async def test_the_viewer_page_has_the_details_panel(
    started: Callable[..., Any],
    settings_for: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "lib", {"Trip/a.jpg": jpeg_bytes((1600, 1200))})
    client: TestClient = await started(settings_for(root, map_url=OSM))
    html = await page(client, "/view/Trip/Trip/a.jpg")
    ids = parse(html).ids
    assert ids["details"]["tag"] == "aside" and "hidden" in ids["details"]
    assert ids["info"]["aria-controls"] == "details"
    assert '<dd id="dimensions">1600 × 1200 (1.9 MP)</dd>' in html
    assert ids["size"]["tag"] == "dd"
    assert "map" not in ids  # this file says nowhere


async def test_a_photos_camera_and_place_from_the_index(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "lib", {"Trip/cam.jpg": camera_jpeg(size=(1600, 1200))})
    client: TestClient = await started(settings_for(root, map_url=OSM))
    html = await page(client, "/view/Trip/Trip/cam.jpg")
    shown = {key: text for key, text in re.findall(r'<dd id="d-([a-z]+)">(.*?)</dd>', html)}
    assert shown == {
        "camera": "Canon EOS 5D Mark IV",
        "lens": "EF24-105mm f/4L IS USM",
        "focal": "50 mm",
        "aperture": "f/4",
        "shutter": "1/250 s",
        "iso": "200",
        "place": '<a href="https://www.openstreetmap.org/?mlat=48.141667&amp;mlon=-11.567083'
        '#map=15/48.141667/-11.567083" id="map" target="_blank" rel="noopener noreferrer" '
        'title="Open this place on a map">48.14167° N, 11.56708° W</a>',
    }
    # A share's recipient sees the camera, not where the photo was taken.
    resp = await client.post("/api/shares?tag=Trip")
    assert resp.status == 201, await resp.text()
    shared = await page(client, (await resp.json())["url"] + "view/Trip/cam.jpg")
    assert 'id="d-camera">Canon EOS 5D Mark IV<' in shared
    assert 'id="d-place"' not in shared and "48.14" not in shared
