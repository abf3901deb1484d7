"""A photo's camera, lens, exposure and place, and a song's tags: probed into the index
(file_details, file_audio), a song's artist, album and genre as tags, in the API."""

from __future__ import annotations

import io
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from mediasrv.index.cachedir import CacheDir
from mediasrv.index.filerows import Audio, Details, Probed
from mediasrv.scan import exif as exif_reader
from mediasrv.scan import probe
from mediasrv.scan.job import run_scan
from mediasrv.snapshot.base import file_dict

from .support import CAMERA, camera_jpeg, make_tree, song_bytes
from .support.generations import content, full_rebuild
from .support.openapi import check_json, spec

TAGS = {
    "title": "Song",
    "artist": "Band",
    "album": "Album 2019",
    "albumartist": "Various",
    "tracknumber": "3/12",
    "discnumber": "1/2",
    "date": "2019-05-01",
    "genre": "Rock\0Pop",
}
AUDIO = {
    "title": "Song",
    "artist": "Band",
    "album": "Album 2019",
    "album_artist": "Various",
    "track": 3,
    "disc": 1,
    "year": 2019,
    "genre": "Rock; Pop",
}
NO_DETAILS = dict.fromkeys(CAMERA)


def probed(tmp_path: Path, name: str, data: bytes, kind: str) -> Probed:
    path = tmp_path / name
    path.write_bytes(data)
    return probe.probe_file(str(path), kind)


# -- the probe ---------------------------------------------------------------------


def test_a_photo_states_its_camera_lens_exposure_and_place(tmp_path: Path) -> None:
    found = probed(tmp_path, "cam.jpg", camera_jpeg(), "image")
    assert found == Probed(width=40, height=30, details=Details(**CAMERA))


def test_a_photo_without_a_place_or_exif_has_no_place_or_no_details(tmp_path: Path) -> None:
    found = probed(tmp_path, "cam.jpg", camera_jpeg("EOS R6", gps=False), "image")
    assert found.details == Details(
        **{**CAMERA, "camera_model": "EOS R6", "gps_lat": None, "gps_lon": None}
    )
    plain = io.BytesIO()
    Image.new("RGB", (8, 6)).save(plain, "JPEG")
    assert probed(tmp_path, "plain.jpg", plain.getvalue(), "image") == Probed(width=8, height=6)


def test_values_that_cannot_be_read_are_left_out_and_cost_nothing_else(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "  Nikon\x00\x00"  # NUL padding and spaces, as cameras write
    exif.get_ifd(0x8769).update(
        {0x829D: IFDRational(0, 0), 0x829A: IFDRational(-1, 50), 0x8827: 400, 0x920A: "garbage"}
    )
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (IFDRational(95), IFDRational(0), IFDRational(0)),
            3: "E",
            4: (IFDRational(10), IFDRational(0), IFDRational(0)),
        }
    )
    out = io.BytesIO()
    Image.new("RGB", (20, 10)).save(out, "JPEG", exif=exif.tobytes())
    found = probed(tmp_path, "odd.jpg", out.getvalue(), "image")
    # f/0 (NaN), a negative exposure, a focal length in words, a latitude past the pole:
    assert found == Probed(width=20, height=10, details=Details(camera_make="Nikon", iso=400))


def test_a_video_states_its_camera_and_place(tmp_path: Path) -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mov") as container:
        container.metadata.update(
            {"make": "Apple", "model": "iPhone 13", "location": "+37.7858-122.4064+012.000/"}
        )
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        black = np.zeros((48, 64, 3), np.uint8)
        for _ in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(black, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    found = probed(tmp_path, "clip.mov", out.getvalue(), "video")
    assert (found.width, found.height, found.details) == (
        64,
        48,
        Details(camera_make="Apple", camera_model="iPhone 13", gps_lat=37.7858, gps_lon=-122.4064),
    )


@pytest.mark.parametrize(("fmt", "duration"), [("mp3", 0.575), ("flac", 0.522), ("ogg", 0.5)])
def test_a_song_s_tags_are_read_in_every_format(tmp_path: Path, fmt: str, duration: float) -> None:
    found = probed(tmp_path, f"song.{fmt}", song_bytes(fmt, **TAGS), "audio")
    assert found == Probed(duration=duration, audio=Audio(**AUDIO))


def test_a_song_without_tags_has_a_duration_and_no_tags(tmp_path: Path) -> None:
    assert probed(tmp_path, "bare.mp3", song_bytes("mp3"), "audio") == Probed(duration=0.575)


def test_odd_numbers_and_values(tmp_path: Path) -> None:
    found = probed(
        tmp_path,
        "odd.flac",
        song_bytes(
            "flac",
            tracknumber="07",
            discnumber="x",
            date="May 2019",
            artist="  A \n B ",
            genre=";",
            title="",
        ),
        "audio",
    )
    assert found.audio == Audio(artist="A B", track=7, genre=";")


def test_a_song_mutagen_cannot_read_goes_to_pyav(tmp_path: Path) -> None:
    # An MP3's frames behind a broken ID3 header: mutagen refuses, FFmpeg still reads it.
    data = song_bytes("mp3")
    broken = b"ID3\x04\x00\x00\xff\xff\xff\xff" + data
    found = probed(tmp_path, "broken.mp3", broken, "audio")
    assert found.audio is None and found.duration is not None and found.duration > 0


# -- the index: both builds, the tags of songs ---------------------------------------


def library(root: Path) -> Path:
    return make_tree(
        root,
        {
            "Photos/cam.jpg": camera_jpeg(),
            "Photos/no gps.jpg": camera_jpeg("EOS R6", gps=False),
            "Music/one.mp3": song_bytes("mp3", **TAGS),
            "Music/two.ogg": song_bytes("ogg", artist="band", album="Other Album", genre="rock"),
            "Music/bare.flac": song_bytes("flac"),
            "notes.txt": b"text",
        },
    )


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_scan_stores_details_and_songs_for_sqlite3_users(tmp_path: Path) -> None:
    root = library(tmp_path / "lib")
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    assert rows(cache.current, "SELECT path, camera_model, gps_lat FROM photo_details") == [
        ("Photos/cam.jpg", "Canon EOS 5D Mark IV", 48.1416667),
        ("Photos/no gps.jpg", "EOS R6", None),
    ]
    assert rows(cache.current, "SELECT path, title, artist, album, track, genre FROM songs") == [
        ("Music/one.mp3", "Song", "Band", "Album 2019", 3, "Rock; Pop"),
        ("Music/two.ogg", None, "band", "Other Album", None, "rock"),
    ]
    tags = dict(rows(cache.current, "SELECT name, file_count FROM tags"))
    # Band and band are one tag; Various (album artist), each genre, each album.
    assert {k: v for k, v in tags.items() if k not in ("All", "Music", "Photos")} == {
        "Band": 2,
        "Various": 1,
        "Rock": 2,
        "Pop": 1,
        "Album 2019": 1,
        "Other Album": 1,
    }
    assert rows(cache.current, "SELECT path FROM file_tags_v WHERE tag = 'Band'") == [
        ("Music/one.mp3",),
        ("Music/two.ogg",),
    ]


def test_a_song_retagged_in_place_moves_between_tags(tmp_path: Path) -> None:
    root = library(tmp_path / "lib")
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    song = root / "Music/one.mp3"
    song.write_bytes(song_bytes("mp3", title="Renamed", artist="Solo", album="Album 2019"))
    os.utime(song, (1_700_000_000, 1_700_000_000))  # same path, a new mtime
    result = run_scan(root, cache, paths=["Music/one.mp3"])
    assert (result.mode, result.changed) == ("delta", 1)
    tags = dict(rows(cache.current, "SELECT name, file_count FROM tags"))
    # two.ogg's "band" is now the tag's only spelling, so its name
    assert (tags.get("band"), tags.get("Solo"), tags.get("Various"), tags.get("Pop")) == (
        1,
        1,
        None,
        None,
    )
    assert rows(cache.current, "SELECT title, artist FROM songs WHERE path = 'Music/one.mp3'") == [
        ("Renamed", "Solo")
    ]
    assert content(cache.current) == full_rebuild(root)


def test_an_unchanged_file_carries_its_details_over(tmp_path: Path) -> None:
    root = library(tmp_path / "lib")
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    (root / "Photos/new.txt").write_bytes(b"x")
    assert run_scan(root, cache).mode == "delta"
    (root / "Music/new.txt").write_bytes(b"y" * 5000)
    assert run_scan(root, cache, full=True).probe["probed"] == 0  # nothing probed again
    assert content(cache.current) == full_rebuild(root)
    assert len(rows(cache.current, "SELECT * FROM file_details")) == 2


# -- the API -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "memory"])
async def music(
    request: pytest.FixtureRequest, started: Any, settings_for: Any, tmp_path: Path
) -> TestClient:
    root = library(tmp_path / "lib")
    client: TestClient = await started(settings_for(root, state=request.param))
    return client


async def ok(client: TestClient, url: str) -> Any:
    resp = await client.get(url)
    body = await resp.json()
    assert resp.status == 200, body
    check_json(url.partition("?")[0], "get", 200, body)
    return body


async def test_lists_carry_a_song_s_tags_and_no_details(music: TestClient) -> None:
    files = {f["path"]: f for f in (await ok(music, "/api/files?limit=100"))["files"]}
    assert files["Music/one.mp3"]["audio"] == AUDIO
    assert files["Music/bare.flac"]["audio"] == dict.fromkeys(AUDIO)  # a song that says nothing
    assert files["Photos/cam.jpg"]["audio"] is None
    assert not any("details" in f for f in files.values())
    found = (await ok(music, "/api/search?q=one"))["files"]
    assert [(f["path"], f["audio"]["artist"]) for f in found] == [("Music/one.mp3", "Band")]


async def test_one_file_answers_carry_its_details(music: TestClient) -> None:
    body = await ok(music, "/api/file?path=Photos/cam.jpg&tag=Photos")
    assert body["file"]["details"] == CAMERA
    assert body["next"]["path"] == "Photos/no gps.jpg" and "details" not in body["next"]
    song = await ok(music, "/api/file?path=Music/one.mp3")
    assert (song["file"]["details"], song["file"]["audio"]) == (None, AUDIO)
    other = await ok(music, "/api/file?path=notes.txt")
    assert (other["file"]["details"], other["file"]["audio"]) == (None, None)
    picked = await ok(music, "/api/random?tag=Photos")
    assert picked["file"]["details"]["camera_make"] == "Canon"


async def test_a_song_s_artist_album_and_genre_are_browsed_like_folders(
    music: TestClient,
) -> None:
    tags = {t["name"]: t["count"] for t in (await ok(music, "/api/tags"))["tags"]}
    assert (tags["Band"], tags["Album 2019"], tags["Rock"]) == (2, 1, 2)
    band = await ok(music, "/api/files?tag=BAND")
    assert (band["tag"], [f["path"] for f in band["files"]]) == (
        "Band",
        ["Music/one.mp3", "Music/two.ogg"],
    )
    album = await ok(music, "/api/files?tag=Album%202019")
    assert [f["audio"]["title"] for f in album["files"]] == ["Song"]
    resp = await music.get("/tag/Album%202019")
    assert resp.status == 200


def test_the_description_names_every_key_of_audio_and_details() -> None:
    song = file_dict(("a.mp3", "mp3", "audio", 1, 2, None, None, 1.5, None, *AUDIO.values()))
    schemas = spec()["components"]["schemas"]
    assert set(song["audio"]) == set(schemas["Audio"]["required"]) == set(Audio._fields)
    assert set(schemas["Details"]["required"]) == set(Details._fields) == set(NO_DETAILS)


# -- the EXIF reader: Pillow's values, faster ---------------------------------------


@pytest.mark.parametrize("endian", ["<", ">"])
def test_the_exif_reader_reads_what_pillow_reads(endian: str) -> None:
    exif = Image.Exif()
    exif.endian = endian
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769).update(
        {
            0x9003: "2024:01:02 03:04:05",
            0x9011: "+02:00",
            0x9291: "5",  # inline, elsewhere
            0xA434: "A lens",
            0x829A: IFDRational(1, 250),
            0x829D: IFDRational(0, 0),
            0x8827: (100, 200),
            0x9000: b"0232",
            0xA002: 640,
        }
    )
    exif.get_ifd(0x8825).update({1: "S", 2: (IFDRational(1), IFDRational(2), IFDRational(3))})
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", exif=exif.tobytes())
    with Image.open(out) as im:
        raw, parsed = im.info["exif"], im.getexif()
        wanted = {0x9003, 0x9011, 0x9291, 0xA434, 0x829A, 0x829D, 0x8827, 0xA002}
        fast = exif_reader.sub_ifd(parsed, raw, exif_reader.EXIF_IFD, wanted)
        pillow = {k: v for k, v in parsed.get_ifd(0x8769).items() if k in wanted}
        gps = exif_reader.sub_ifd(parsed, raw, exif_reader.GPS_IFD, {1, 2})
    assert fast.keys() == pillow.keys() == wanted
    for tag, value in fast.items():
        expected = pillow[tag]
        if tag == 0x829D:  # 0/0: NaN either way
            assert math.isnan(value) and math.isnan(float(expected))
        elif isinstance(expected, tuple):
            assert value == tuple(expected)
        else:
            assert value == (float(expected) if isinstance(expected, IFDRational) else expected), (
                hex(tag)
            )
    assert gps == {1: "S", 2: (1.0, 2.0, 3.0)}


@pytest.mark.parametrize("raw", [b"", b"Exif\x00\x00XX*\x00", b"Exif\x00\x00II*\x00\x08"])
def test_the_exif_reader_leaves_what_is_not_tiff_data_to_pillow(raw: bytes) -> None:
    with Image.open(io.BytesIO(camera_jpeg())) as im:
        parsed = im.getexif()
        found = exif_reader.sub_ifd(parsed, raw, exif_reader.EXIF_IFD, {0xA434, 0x8827})
    assert found == {0xA434: "EF24-105mm f/4L IS USM", 0x8827: 200}


@pytest.fixture(params=["sqlite", "memory"])
async def slashed(
    request: pytest.FixtureRequest, started: Any, settings_for: Any, tmp_path: Path
) -> TestClient:
    """A song whose artist holds a ``/`` (no folder tag can): a tag like any other."""
    root = make_tree(tmp_path / "lib", {"Music/tnt.mp3": song_bytes("mp3", artist="AC/DC")})
    client: TestClient = await started(settings_for(root, state=request.param))
    return client


async def test_a_tag_with_a_slash_is_listed_paged_and_shown(slashed: TestClient) -> None:
    tags = {t["name"]: t["count"] for t in (await ok(slashed, "/api/tags"))["tags"]}
    assert tags["AC/DC"] == 1
    for tag in ("AC/DC", "AC%2FDC", "ac%2Fdc"):
        body = await ok(slashed, f"/api/files?tag={tag}")
        assert (body["tag"], [f["path"] for f in body["files"]]) == ("AC/DC", ["Music/tnt.mp3"])
    grid = await slashed.get("/tag/AC%2FDC")
    html = await grid.text()
    assert grid.status == 200, html[:300]
    assert "/view/AC%2FDC/Music/tnt.mp3" in html
    view = await slashed.get("/view/AC%2FDC/Music/tnt.mp3")
    assert view.status == 200, (await view.text())[:300]
    zipped = await slashed.get("/api/zip?tag=AC%2FDC")
    assert zipped.status == 200
    disposition = zipped.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="AC_DC.zip"'
    await zipped.read()
