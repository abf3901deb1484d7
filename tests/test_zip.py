"""GET /api/zip: a tag's files as one streamed zip with an exact Content-Length."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import struct
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mediasrv.server.keys import LIBRARY
from mediasrv.server.zipnames import disposition, free_name, member_names
from mediasrv.server.zips import zip_response
from mediasrv.settings import Settings

from .support import h264_bytes, jpeg_bytes, make_tree, until
from .support.fds import open_fds

MTIME = 1_600_000_000  # make_tree's


@pytest.fixture(scope="module")
def media() -> dict[str | bytes, bytes | str]:
    return {
        "Trips/Beach/sea.jpg": jpeg_bytes((64, 48)),
        "Trips/Beach/sand.jpg": jpeg_bytes((30, 40)),
        "Trips/Beach/clip.mp4": h264_bytes(0.5, (64, 48)),
        "Trips/Beach/notes.txt": "written on the beach",
        "Trips/Lake/lake.jpg": jpeg_bytes((20, 20)),
        "Home/cat.jpg": jpeg_bytes((10, 12)),
    }


@pytest.fixture
async def zclient(tmp_path: Path, started: Callable[..., Any],
                  settings_for: Callable[..., Settings],
                  media: dict[str | bytes, bytes | str]) -> TestClient:
    return await started(settings_for(make_tree(tmp_path / "lib", media)))


async def download(client: TestClient, tag: str) -> tuple[aiohttp.ClientResponse, bytes]:
    resp = await client.get("/api/zip", params={"tag": tag})
    body = await resp.read()
    return resp, body


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


async def test_a_tag_comes_as_one_zip_of_its_files(
        zclient: TestClient, media: dict[str | bytes, bytes | str]) -> None:
    resp, body = await download(zclient, "Beach")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="Beach.zip"'
    assert int(resp.headers["Content-Length"]) == len(body)
    members = unzip(body)
    assert list(members) == ["Trips/Beach/clip.mp4", "Trips/Beach/notes.txt",
                             "Trips/Beach/sand.jpg", "Trips/Beach/sea.jpg"]
    for name, data in members.items():
        expected = media[name]
        assert data == (expected.encode() if isinstance(expected, str) else expected)


async def test_members_are_stored_with_the_files_times(zclient: TestClient) -> None:
    _, body = await download(zclient, "Lake")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        (info,) = archive.infolist()
    assert info.compress_type == zipfile.ZIP_STORED
    assert info.date_time == time.localtime(MTIME)[:6]


async def test_head_gives_the_length_without_the_body(zclient: TestClient) -> None:
    _, body = await download(zclient, "Beach")
    head = await zclient.head("/api/zip", params={"tag": "Beach"})
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(body))
    assert await head.read() == b""


async def test_an_unknown_tag_is_404(zclient: TestClient) -> None:
    resp = await zclient.get("/api/zip", params={"tag": "Nowhere"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_tag"


async def test_favourites_empty_then_starred(zclient: TestClient) -> None:
    resp, body = await download(zclient, "Favourites")
    assert resp.status == 200
    assert unzip(body) == {}
    assert len(body) == 22  # the end record alone: a valid empty zip
    star = await zclient.put("/api/favourites", params={"path": "Home/cat.jpg"})
    assert star.status in (200, 204)
    _, body = await download(zclient, "Favourites")
    assert list(unzip(body)) == ["Home/cat.jpg"]


async def test_a_vanished_or_changed_file_is_listed_in_missing_txt(
        zclient: TestClient, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "Trips/Beach/sea.jpg").unlink()
    with open(lib / "Trips/Beach/sand.jpg", "ab") as f:
        f.write(b"more")
    resp, body = await download(zclient, "Beach")
    assert int(resp.headers["Content-Length"]) == len(body)
    members = unzip(body)
    assert list(members) == ["Trips/Beach/clip.mp4", "Trips/Beach/notes.txt", "MISSING.txt"]
    assert members["MISSING.txt"].decode().splitlines()[-2:] == [
        "Trips/Beach/sand.jpg", "Trips/Beach/sea.jpg"]


async def test_missing_txt_does_not_take_a_files_name(
        tmp_path: Path, started: Callable[..., Any],
        settings_for: Callable[..., Settings]) -> None:
    lib = make_tree(tmp_path / "lib", {"MISSING.txt": "mine", "gone.jpg": "x"})
    client = await started(settings_for(lib))
    (lib / "gone.jpg").unlink()
    _, body = await download(client, "All")
    members = unzip(body)
    assert members["MISSING.txt"] == b"mine"
    assert members["MISSING (2).txt"].decode().endswith("\ngone.jpg\n")


async def test_nothing_outside_the_root_gets_in(
        tmp_path: Path, started: Callable[..., Any],
        settings_for: Callable[..., Settings]) -> None:
    """Files or folders replaced by symlinks since the scan: only ones leading inside count."""
    lib = make_tree(tmp_path / "lib", {"A/out.jpg": "12345", "B/x.jpg": "abcde",
                                       "C/in.jpg": "vwxyz", "D/real.jpg": "67890"})
    outside = make_tree(tmp_path / "outside", {"out.jpg": "SECRT", "B/x.jpg": "SECRT"})
    client = await started(settings_for(lib))
    (lib / "A/out.jpg").unlink()
    (lib / "A/out.jpg").symlink_to(outside / "out.jpg")
    (lib / "B/x.jpg").unlink()
    (lib / "B").rmdir()
    (lib / "B").symlink_to(outside / "B")
    (lib / "C/in.jpg").unlink()
    (lib / "C/in.jpg").symlink_to(lib / "D/real.jpg")
    _, body = await download(client, "All")
    members = unzip(body)
    assert {k: v for k, v in members.items() if k != "MISSING.txt"} == {
        "C/in.jpg": b"67890", "D/real.jpg": b"67890"}
    assert members["MISSING.txt"].decode().splitlines()[-2:] == ["A/out.jpg", "B/x.jpg"]


async def test_names_that_are_not_utf8_are_shown_without_collisions(
        tmp_path: Path, started: Callable[..., Any],
        settings_for: Callable[..., Settings]) -> None:
    lib = make_tree(tmp_path / "lib", {
        b"Caf\xe9/a\xff.jpg": b"ff", b"Caf\xe9/a\xfe.jpg": b"fe",  # Latin-1: Café/aÿ, Café/aþ
        "Café/aÿ.jpg": b"real UTF-8", "Café/aÿ (2).jpg": b"2",
    })
    client = await started(settings_for(lib))
    resp, body = await download(client, "All")
    members = unzip(body)
    assert len(body) == int(resp.headers["Content-Length"])
    assert members == {"Café/aÿ.jpg": b"real UTF-8", "Café/aÿ (2).jpg": b"2",
                       "Café/aÿ (3).jpg": b"ff", "Café/aþ.jpg": b"fe"}


def test_member_names_keep_clean_names_and_number_the_others() -> None:
    paths = ["x/a\udcff.jpg", "x/aÿ.jpg", "x/a\udcfe.jpg", "b\udcff", "bÿ", "c\udcff/d", "cÿ/d"]
    assert member_names(paths) == [
        "x/aÿ (2).jpg", "x/aÿ.jpg", "x/aþ.jpg", "bÿ (2)", "bÿ", "cÿ/d (2)", "cÿ/d"]
    assert free_name(".hidden", {".hidden"}) == ".hidden (2)"
    assert free_name("d.x/file", {"d.x/file"}) == "d.x/file (2)"


@pytest.mark.parametrize(("name", "header"), [
    ("Beach.zip", 'attachment; filename="Beach.zip"'),
    ("Été 2024.zip",
     "attachment; filename=\"_t_ 2024.zip\"; filename*=UTF-8''%C3%89t%C3%A9%202024.zip"),
    ('say "hi"\\.zip', "attachment; filename=\"say _hi__.zip\"; "
                       "filename*=UTF-8''say%20%22hi%22%5C.zip"),
])
def test_content_disposition(name: str, header: str) -> None:
    assert disposition(name) == header


async def test_a_non_ascii_tag_names_the_download(
        tmp_path: Path, started: Callable[..., Any],
        settings_for: Callable[..., Settings]) -> None:
    client = await started(settings_for(make_tree(tmp_path / "lib", {"Été/a.jpg": "a"})))
    resp, body = await download(client, "Été")
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"_t_.zip\"; filename*=UTF-8''%C3%89t%C3%A9.zip")
    assert list(unzip(body)) == ["Été/a.jpg"]


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` zero bytes that takes no disk blocks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    os.utime(path, (MTIME, MTIME))


@pytest.fixture
async def big(tmp_path: Path, started: Callable[..., Any],
              settings_for: Callable[..., Settings]) -> TestClient:
    """A tag whose first file is far larger than any socket buffer, then two small ones."""
    lib = tmp_path / "lib"
    sparse(lib / "Big/a-large.mp4", 64 << 20)
    make_tree(lib, {"Big/b.jpg": jpeg_bytes((8, 8)), "Big/c.jpg": jpeg_bytes((9, 9))})
    return await started(settings_for(lib))


def held(path: Path) -> bool:
    return any(name == str(path) for name in open_fds())


async def test_a_client_that_goes_away_frees_the_work(
        big: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    large = tmp_path / "lib/Big/a-large.mp4"
    resp, body = await download(big, "Big")  # warm: the thread pool is up, as later
    assert len(body) == int(resp.headers["Content-Length"])
    tasks, fds = len(asyncio.all_tasks()), len(open_fds())
    resp = await big.get("/api/zip", params={"tag": "Big"})
    assert len(await resp.content.readexactly(1 << 20)) == 1 << 20
    assert held(large)
    resp.close()  # drops the connection halfway through the large file

    async def freed() -> bool:
        return len(asyncio.all_tasks()) <= tasks and len(open_fds()) <= fds
    await until(freed, "the download's task and file to be gone")
    assert not held(large)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_still_allowed_is_asked_between_members(
        tmp_path: Path, started: Callable[..., Any],
        settings_for: Callable[..., Settings]) -> None:
    """What a share uses: once ``still_allowed`` says no, the stream ends at the next member."""
    lib = tmp_path / "lib"
    sparse(lib / "Big/a-large.mp4", 64 << 20)
    make_tree(lib, {"Big/b.jpg": jpeg_bytes((8, 8))})
    allowed = {"now": True}

    async def shared(request: web.Request) -> web.StreamResponse:
        async with request.app[LIBRARY].snapshot() as snap:
            return await zip_response(request, snap, "Big", still_allowed=lambda: allowed["now"],
                                      headers={"X-Robots-Tag": "noindex"})

    def route(app: web.Application) -> None:
        app.router.add_get("/shared.zip", shared)

    client = await started(settings_for(lib), components=[route])
    whole = await client.get("/shared.zip")
    assert whole.headers["X-Robots-Tag"] == "noindex"
    body = await whole.read()
    assert list(unzip(body)) == ["Big/a-large.mp4", "Big/b.jpg"]
    resp = await client.get("/shared.zip")
    got = len(await resp.content.readexactly(1 << 20))
    allowed["now"] = False  # revoked while the large file is being sent
    with pytest.raises(aiohttp.ClientPayloadError):
        while chunk := await resp.content.read(1 << 20):
            got += len(chunk)
    assert got == 30 + len("Big/a-large.mp4") + (64 << 20) + 16  # that member whole, no more


@pytest.mark.parametrize("change", ["delete", "shorten", "grow"])
async def test_a_file_changed_after_the_length_was_promised_fails_the_download(
        big: TestClient, tmp_path: Path, change: str, caplog: pytest.LogCaptureFixture) -> None:
    """The length is promised; a later change cannot be sent as promised: the
    connection ends early, so the client sees a failed download, never a short zip."""
    small = tmp_path / "lib/Big/b.jpg"
    resp = await big.get("/api/zip", params={"tag": "Big"})
    promised = int(resp.headers["Content-Length"])
    await resp.content.readexactly(1 << 20)  # the server is still in the large file
    if change == "delete":
        small.unlink()
    else:
        with open(small, "r+b") as f:
            f.truncate(10 if change == "shorten" else 4 << 20)  # more than the rest
    got = 1 << 20
    with pytest.raises(aiohttp.ClientPayloadError):
        while chunk := await resp.content.read(1 << 20):
            got += len(chunk)
    assert got < promised
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("cut short" in r.getMessage() for r in caplog.records)


async def test_zip64_beyond_4_gib(tmp_path: Path, started: Callable[..., Any],
                                  settings_for: Callable[..., Settings]) -> None:
    """A 4.5 GiB file (sparse) gets ZIP64 sizes; the archive's end is read, not its middle."""
    lib = tmp_path / "lib"
    sparse(lib / "Huge/huge.mkv", 9 << 29)
    make_tree(lib, {"Huge/small.jpg": jpeg_bytes((8, 8))})
    client = await started(settings_for(lib))
    resp = await client.get("/api/zip", params={"tag": "Huge"})
    promised = int(resp.headers["Content-Length"])
    assert promised > 9 << 29
    small = len((lib / "Huge/small.jpg").read_bytes())
    assert promised == (
        (30 + 13 + 20 + (9 << 29) + 24)  # header, name, ZIP64 sizes, data, ZIP64 descriptor
        + (30 + 14 + small + 16)  # an ordinary member after it
        + (46 + 13 + 4 + 16) + (46 + 14 + 4 + 8)  # central directory: ZIP64 sizes, offset
        + 56 + 20 + 22)  # ZIP64 end record and locator, end record
    head = await resp.content.readexactly(30 + 13 + 20)
    signature, version, flags = struct.unpack("<IHH", head[:8])
    assert (signature, version, flags & 0x08) == (0x04034B50, 45, 0x08)  # ZIP64, descriptor
    assert head[30 + 13:] == struct.pack("<HHQQ", 1, 16, 0, 0)  # sizes follow the data
    resp.close()
