"""A song's cover art: embedded in each tag format, or the folder's cover beside it."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from mediasrv.media.covers import FolderCovers, embedded_cover, folder_cover, make_song
from mediasrv.media.thumbs import live_keys, thumb_key
from mediasrv.resources import resource_dir
from mediasrv.server.keys import THUMBS
from mediasrv.settings import Settings

from .support import make_tree
from .support.songs import FORMATS, cover_bytes, song_bytes, tag_song

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
BACK, FRONT = 4, 3  # ID3/FLAC picture types


def colour(jpeg: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(jpeg)) as img:
        return img.convert("RGB").getpixel((img.width // 2, img.height // 2))


def near(pixel: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(pixel, color, strict=True))


def song(path: Path, ext: str = "mp3", **tags: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(song_bytes(ext, 0.3))
    tag_song(path, **tags)
    return path


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg"])
def test_the_front_cover_is_chosen_among_the_pictures_of_each_format(
    tmp_path: Path,
    ext: str,
) -> None:
    path = song(
        tmp_path / f"song.{ext}",
        ext,
        title="Song",
        covers=[(BACK, cover_bytes(BLUE)), (FRONT, cover_bytes(RED))],
    )
    found = embedded_cover(str(path))
    assert found is not None and near(colour(found), RED)


def test_an_m4a_cover_is_read(tmp_path: Path) -> None:
    """MP4 does not say which cover is the front: the first one is."""
    path = song(tmp_path / "song.m4a", "m4a", covers=[(FRONT, cover_bytes(GREEN))])
    found = embedded_cover(str(path))
    assert found is not None and near(colour(found), GREEN)


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_a_song_without_pictures_has_no_embedded_cover(tmp_path: Path, ext: str) -> None:
    assert embedded_cover(str(song(tmp_path / f"song.{ext}", ext, title="Plain"))) is None


def test_a_file_that_is_no_song_has_no_cover(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\xff\xff\xff\xff truncated")
    assert embedded_cover(str(path)) is None


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["01.mp3", "folder.jpg", "cover.png"], "cover.png"),
        (["01.mp3", "Folder.JPG"], "Folder.JPG"),
        (["cover.JPG", "Cover.jpg"], "Cover.jpg"),  # one spelling, decided by exact text
        (["back.jpg", "covers.jpg", "01.mp3"], None),
    ],
)
def test_the_folder_cover_is_found_in_any_letter_case(names: list[str], chosen: str | None) -> None:
    assert folder_cover(names) == chosen


def test_a_song_with_neither_gets_no_picture(tmp_path: Path) -> None:
    assert make_song(str(song(tmp_path / "a.mp3")), 320, None) is None


def test_the_embedded_cover_wins_over_the_folders(tmp_path: Path) -> None:
    path = song(tmp_path / "a.mp3", covers=[(FRONT, cover_bytes(RED, (900, 600)))])
    (tmp_path / "cover.jpg").write_bytes(cover_bytes(BLUE))
    made = make_song(str(path), 320, str(tmp_path / "cover.jpg"))
    assert made is not None and near(colour(made), RED)
    assert Image.open(io.BytesIO(made)).size == (320, 213)


def test_a_damaged_embedded_cover_falls_back_to_the_folders(tmp_path: Path) -> None:
    path = song(tmp_path / "a.mp3", covers=[(FRONT, b"\xff\xd8 not a picture")])
    (tmp_path / "folder.png").write_bytes(cover_bytes(GREEN, fmt="PNG"))
    made = make_song(str(path), 320, str(tmp_path / "folder.png"))
    assert made is not None and near(colour(made), GREEN)


def test_a_folder_cover_that_is_a_link_is_not_used(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(cover_bytes(RED))
    path = song(tmp_path / "lib" / "a.mp3")
    os.symlink(outside, tmp_path / "lib" / "cover.jpg")
    assert FolderCovers().beside(str(path)) is None


def test_the_folder_cover_is_seen_when_it_is_added_changed_and_removed(tmp_path: Path) -> None:
    path = str(song(tmp_path / "a.mp3"))
    covers = FolderCovers()
    assert covers.beside(path) is None
    cover = tmp_path / "Cover.jpg"
    cover.write_bytes(cover_bytes(RED))
    st = cover.stat()
    assert covers.beside(path) == (str(cover), ("Cover.jpg", st.st_size, st.st_mtime_ns))
    cover.write_bytes(cover_bytes(BLUE, (40, 40)))  # rewritten in place: the folder is as it was
    found = covers.beside(path)
    assert found is not None and found[1][1:] == (cover.stat().st_size, cover.stat().st_mtime_ns)
    cover.unlink()
    assert covers.beside(path) is None


def test_pruning_knows_a_songs_folder_cover(tmp_path: Path) -> None:
    """The scan side computes the same key as the server, from the generation's rows."""
    rows = [("Album/01.mp3", 10, 1), ("Album/folder.jpg", 20, 2), ("Other/02.mp3", 30, 3)]
    live = live_keys(rows)
    assert thumb_key("Album/01.mp3", 10, 1, 320, ("folder.jpg", 20, 2)) in live
    assert thumb_key("Album/01.mp3", 10, 1, 320) not in live
    assert thumb_key("Other/02.mp3", 30, 3, 640) in live
    assert thumb_key("Album/folder.jpg", 20, 2, 2048) in live


# -- over HTTP ------------------------------------------------------------------


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    song(root / "Tagged/a.mp3", title="A", covers=[(FRONT, cover_bytes(RED))])
    song(root / "Loose/b.ogg", "ogg", title="B")
    return make_tree(root, {"Loose/notes.txt": "liner notes"})


@pytest.fixture
async def client(
    started: Callable[..., Any], music: Path, settings_for: Callable[..., Settings]
) -> TestClient:
    return await started(settings_for(music))


async def test_a_songs_thumbnail_and_preview_are_its_cover(client: TestClient) -> None:
    for url in ("/thumb/Tagged/a.mp3", "/thumb/Tagged/a.mp3?w=640", "/preview/Tagged/a.mp3"):
        resp = await client.get(url)
        assert resp.status == 200, url
        assert resp.headers["Content-Type"] == "image/jpeg"
        assert near(colour(await resp.read()), RED)


async def test_a_folder_cover_added_later_becomes_the_thumbnail(
    client: TestClient,
    music: Path,
) -> None:
    first = await client.get("/thumb/Loose/b.ogg")
    assert first.headers["Content-Type"] == "image/svg+xml"
    assert await first.read() == (resource_dir("web") / "static/icons/audio.svg").read_bytes()
    assert (await client.get("/preview/Loose/b.ogg")).status == 422
    (music / "Loose/folder.jpg").write_bytes(cover_bytes(GREEN))
    again = await client.get("/thumb/Loose/b.ogg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 200 and again.headers["ETag"] != first.headers["ETag"]
    assert near(colour(await again.read()), GREEN)


async def test_a_songs_thumbnail_is_revalidated_not_kept_for_good(
    client: TestClient,
    music: Path,
) -> None:
    st = (music / "Tagged/a.mp3").stat()
    resp = await client.get(f"/thumb/Tagged/a.mp3?v={st.st_size}-{st.st_mtime_ns}")
    assert resp.headers["Cache-Control"] == "private, no-cache"
    again = await client.get("/thumb/Tagged/a.mp3", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304


async def test_a_song_without_cover_art_is_read_once(client: TestClient) -> None:
    for _ in range(2):
        assert (await client.get("/thumb/Loose/b.ogg")).headers["Content-Type"] == "image/svg+xml"
    assert client.app[THUMBS].made == 1
    [icon] = [p.read_text() for p in client.app[THUMBS].directory.glob("*/*.icon")]
    assert icon == "audio\nno cover art\n"
