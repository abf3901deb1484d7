"""/media: the bytes of indexed files, with Range and validators, and nothing else."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from .support import make_tree, rescan

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"


async def test_serves_an_indexed_file(client: TestClient) -> None:
    resp = await client.get("/media/Music/song.mp3")
    assert resp.status == 200
    assert await resp.read() == b"f" * 60
    assert resp.headers["Content-Type"] == "audio/mpeg"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Last-Modified"] == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert resp.headers["ETag"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")


async def test_range_request(client: TestClient) -> None:
    resp = await client.get("/media/Music/song.mp3", headers={"Range": "bytes=10-19"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == "bytes 10-19/60"
    assert await resp.read() == b"f" * 10


async def test_unsatisfiable_range_is_416(client: TestClient) -> None:
    resp = await client.get("/media/Music/song.mp3", headers={"Range": "bytes=100-200"})
    assert resp.status == 416


async def test_conditional_requests(client: TestClient) -> None:
    first = await client.get("/media/Music/song.mp3")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert (
        await client.get("/media/Music/song.mp3", headers={"If-None-Match": etag})
    ).status == 304
    resp = await client.get("/media/Music/song.mp3", headers={"If-Modified-Since": modified})
    assert resp.status == 304


async def test_head(client: TestClient) -> None:
    resp = await client.head("/media/Music/song.mp3")
    assert (resp.status, resp.headers["Content-Length"]) == (200, "60")


async def test_names_with_spaces_and_brackets(client: TestClient) -> None:
    resp = await client.get("/media/Trips/2024/Beach/sunset%5Bbeach%20family%5D.jpg")
    assert (resp.status, await resp.read()) == (200, b"d" * 40)


async def test_file_not_in_the_index_is_404_even_if_on_disk(
    client: TestClient, lib_root: Path
) -> None:
    make_tree(lib_root, {"added-after-scan.jpg": "x"})
    resp = await client.get("/media/added-after-scan.jpg")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_file"


async def test_vanished_file_is_404_and_asks_for_a_rescan(
    client: TestClient, lib_root: Path
) -> None:
    (lib_root / "notes.txt").unlink()
    resp = await client.get("/media/notes.txt")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "file_gone"
    from mediasrv.server.keys import COORDINATOR

    await client.app[COORDINATOR].wait_idle()
    body = await (await client.get("/api/files")).json()
    assert (body["generation"], body["total"]) == (2, 6)


async def raw_get(client: TestClient, target: bytes) -> tuple[int, bytes]:
    """Send ``target`` exactly as given (no client-side normalisation)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.fixture
async def guarded(started, settings_for, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    """A library next to a secret file, with links that try to reach it."""
    (tmp_path / "outside.txt").write_bytes(SECRET)
    root = make_tree(tmp_path / "lib", {"Trips/a.jpg": b"inside", "b.jpg": b"inside too"})
    os.symlink(tmp_path / "outside.txt", root / "link-out.jpg")
    os.symlink(tmp_path, root / "dir-out")
    return await started(settings_for(root))


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        b"/media/../outside.txt",
        b"/media/%2e%2e/outside.txt",
        b"/media/%2E%2E%2Foutside.txt",
        b"/media/..%2foutside.txt",
        b"/media/Trips/../../outside.txt",
        b"/media/Trips/%2e%2e/%2e%2e/outside.txt",
        b"/media/Trips%2f..%2f..%2foutside.txt",
        b"/media//etc/passwd",
        b"/media/%2Fetc%2Fpasswd",
        b"/media/" + str(Path("/etc/passwd").resolve()).encode(),
        b"/media/..\\outside.txt",
        b"/media/..%5coutside.txt",
        b"/media/Trips%5c..%5c..%5coutside.txt",
        b"/media/b.jpg%00.txt",
        b"/media/%00",
        b"/media/link-out.jpg",
        b"/media/dir-out/outside.txt",
        b"/media/dir-out/lib/b.jpg",
        b"/media/%252e%252e/outside.txt",
    ],
)
async def test_paths_escaping_the_root_are_404(guarded: TestClient, target: bytes) -> None:
    status, body = await raw_get(guarded, target)
    assert status in (400, 404)  # 400 only where the HTTP parser itself refuses the line
    assert SECRET not in body
    if status == 404 and target.startswith(b"/media/"):
        assert b'"error"' in body


async def test_escape_attempts_never_read_outside(guarded: TestClient, tmp_path: Path) -> None:
    """Reading the secret would move its access time: with atime older than mtime,
    relatime (and strictatime) update it on the next read."""
    outside = tmp_path / "outside.txt"
    os.utime(outside, (1_000, 2_000_000_000))
    outside.read_bytes()
    if outside.stat().st_atime == 1_000:
        pytest.skip("this filesystem does not record access times")
    os.utime(outside, (1_000, 2_000_000_000))
    for target in (
        b"/media/../outside.txt",
        b"/media/link-out.jpg",
        b"/media/dir-out/outside.txt",
        b"/media/dir-out/outside.txt%00",
        b"/media/..%2foutside.txt",
    ):
        status, body = await raw_get(guarded, target)
        assert status == 404 and SECRET not in body
    assert outside.stat().st_atime == 1_000


async def test_indexed_file_replaced_by_a_link_outside_is_refused(
    guarded: TestClient, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    (lib / "b.jpg").unlink()
    os.symlink(tmp_path / "outside.txt", lib / "b.jpg")  # swapped after the scan indexed it
    status, body = await raw_get(guarded, b"/media/b.jpg")
    assert status == 404 and SECRET not in body


async def test_symlink_escape_is_not_indexed(guarded: TestClient) -> None:
    body = await (await guarded.get("/api/files")).json()
    assert [f["path"] for f in body["files"]] == ["b.jpg", "Trips/a.jpg"]
    status = await (await guarded.get("/api/status")).json()
    assert status["last_scan"]["walk"]["outside_links"] == 2


async def test_after_rescan_removed_file_is_404(client: TestClient, lib_root: Path) -> None:
    (lib_root / "notes.txt").unlink()
    await rescan(client)
    resp = await client.get("/media/notes.txt")
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "unknown_file")
