"""/thumb: real pictures and videos, undecodable files, the disk cache and its headers."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from mediasrv.media import thumbs
from mediasrv.media.thumbs import Thumbnailer, thumb_key
from mediasrv.resources import resource_dir
from mediasrv.scan.process import PRUNE_EVERY_S
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import THUMBS
from mediasrv.settings import Settings

from .support import h264_bytes, jpeg_bytes, make_tree, rescan, until, worker_command


def near(pixel: tuple[int, ...], color: tuple[int, int, int], slack: int = 24) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, color, strict=False))


@pytest.fixture
def media_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", {
        "Photos/red.jpg": jpeg_bytes(),
        "Photos/small.jpg": jpeg_bytes((100, 50)),
        "Photos/broken.jpg": b"\xff\xd8\xff\xe0 this is not really a JPEG",
        "Clips/green.mp4": h264_bytes(),
        "Clips/fade-in.mp4": h264_bytes(10.0, black_intro=5),
        "Clips/broken.mp4": b"\x00\x00\x00\x18ftypmp42 truncated garbage",
        "Music/song.mp3": b"ID3 not decoded for thumbnails",
        "notes.txt": "plain text",
    })


@pytest.fixture
async def tclient(started: Callable[..., Any], media_tree: Path,
                  settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(media_tree))


async def thumb_image(client: TestClient, path: str) -> Image.Image:
    resp = await client.get(f"/thumb/{path}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/jpeg"
    return Image.open(io.BytesIO(await resp.read()))


async def test_jpeg_is_scaled_to_320_on_its_longest_side(tclient: TestClient) -> None:
    img = await thumb_image(tclient, "Photos/red.jpg")
    assert (img.format, img.size) == ("JPEG", (320, 240))
    assert near(img.getpixel((160, 120)), (200, 30, 30))


async def test_small_picture_is_not_enlarged(tclient: TestClient) -> None:
    img = await thumb_image(tclient, "Photos/small.jpg")
    assert img.size == (100, 50)


async def test_video_gets_a_poster_frame(tclient: TestClient) -> None:
    img = await thumb_image(tclient, "Clips/green.mp4")
    assert img.size == (160, 120)
    assert near(img.getpixel((80, 60)), (30, 200, 30))


async def test_poster_frame_is_taken_past_a_black_intro(tclient: TestClient) -> None:
    img = await thumb_image(tclient, "Clips/fade-in.mp4")  # black for 0.5 s of 10 s
    assert near(img.getpixel((80, 60)), (30, 200, 30))


@pytest.mark.parametrize(
    ("path", "icon"),
    [
        ("Photos/broken.jpg", "broken"),
        ("Clips/broken.mp4", "broken"),
        ("Music/song.mp3", "audio"),
        ("notes.txt", "other"),
    ],
)
async def test_files_without_a_picture_get_an_icon(tclient: TestClient, path: str,
                                                   icon: str) -> None:
    resp = await tclient.get(f"/thumb/{path}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/svg+xml"
    assert await resp.read() == (resource_dir("web") / f"static/icons/{icon}.svg").read_bytes()


async def test_thumbnail_is_cached_on_disk_and_not_made_again(tclient: TestClient) -> None:
    first = await (await tclient.get("/thumb/Photos/red.jpg")).read()
    second = await (await tclient.get("/thumb/Photos/red.jpg")).read()
    assert first == second
    assert tclient.app[THUMBS].made == 1
    cached = list(tclient.app[THUMBS].directory.glob("*/*.jpg"))
    assert [p.read_bytes() for p in cached] == [first]


async def test_undecodable_file_is_tried_once(tclient: TestClient) -> None:
    await tclient.get("/thumb/Photos/broken.jpg")
    await tclient.get("/thumb/Photos/broken.jpg")
    assert tclient.app[THUMBS].made == 1
    [icon] = [p.read_text() for p in tclient.app[THUMBS].directory.glob("*/*.icon")]
    assert icon.startswith("broken\n")


async def test_rescan_keeps_the_thumbnail_of_an_unchanged_file(tclient: TestClient,
                                                                media_tree: Path) -> None:
    await tclient.get("/thumb/Photos/red.jpg")
    make_tree(media_tree, {"Photos/new.jpg": jpeg_bytes()})
    assert (await rescan(tclient))["status"] == "published"
    await tclient.get("/thumb/Photos/red.jpg")
    assert tclient.app[THUMBS].made == 1


async def test_changed_file_gets_a_new_thumbnail(tclient: TestClient, media_tree: Path) -> None:
    await tclient.get("/thumb/Photos/red.jpg")
    make_tree(media_tree, {"Photos/red.jpg": jpeg_bytes(color=(20, 20, 220))},
              mtime=1_700_000_000)
    await rescan(tclient)
    img = await thumb_image(tclient, "Photos/red.jpg")
    assert near(img.getpixel((160, 120)), (20, 20, 220))
    assert tclient.app[THUMBS].made == 2


async def test_a_second_server_finds_the_disk_cache(
    started: Callable[..., Any], media_tree: Path, settings_for: Callable[..., Settings],
    tclient: TestClient,
) -> None:
    await tclient.get("/thumb/Photos/red.jpg")
    other = await started(settings_for(media_tree))
    img = await thumb_image(other, "Photos/red.jpg")
    assert img.size == (320, 240)
    assert other.app[THUMBS].made == 0


async def test_same_thumbnail_asked_many_times_at_once_is_made_once(tclient: TestClient) -> None:
    answers = await asyncio.gather(*(tclient.get("/thumb/Photos/red.jpg") for _ in range(8)))
    assert [r.status for r in answers] == [200] * 8
    assert tclient.app[THUMBS].made == 1


async def test_thumbnail_that_cannot_be_cached_is_still_served(
    tclient: TestClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(dest: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(thumbs, "_write_atomic", refuse)
    img = await thumb_image(tclient, "Photos/red.jpg")
    assert img.size == (320, 240)
    assert list(tclient.app[THUMBS].directory.glob("*/*")) == []


async def test_etag_and_if_none_match(tclient: TestClient) -> None:
    first = await tclient.get("/thumb/Photos/red.jpg")
    etag = first.headers["ETag"]
    again = await tclient.get("/thumb/Photos/red.jpg", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert tclient.app[THUMBS].made == 1


async def test_versioned_url_is_cached_for_good(tclient: TestClient, media_tree: Path) -> None:
    st = os.stat(media_tree / "Photos/red.jpg")
    resp = await tclient.get(f"/thumb/Photos/red.jpg?v={st.st_size}-{st.st_mtime_ns}")
    assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"


async def test_every_thumbnail_url_of_the_api_is_versioned_and_cached_for_good(
    tclient: TestClient, media_tree: Path,
) -> None:
    st = os.stat(media_tree / "Photos/red.jpg")
    wanted = f"/thumb/Photos/red.jpg?v={st.st_size}-{st.st_mtime_ns}"
    page = await (await tclient.get("/api/files?tag=Photos")).json()
    one = await (await tclient.get("/api/file?path=Photos/red.jpg&tag=Photos")).json()
    found = await (await tclient.get("/api/search?q=red")).json()
    picked = await (await tclient.get("/api/random?tag=Photos")).json()
    assert [f["thumb_url"] for f in page["files"] if f["name"] == "red.jpg"] == [wanted]
    assert one["file"]["thumb_url"] == wanted
    assert [f["thumb_url"] for f in found["files"]] == [wanted]
    neighbour = one["prev"] or one["next"]
    assert neighbour["thumb_url"].startswith(f"/thumb/{neighbour['path']}?v=")
    assert picked["file"]["thumb_url"].startswith(f"/thumb/{picked['file']['path']}?v=")
    for url in (wanted, picked["file"]["thumb_url"], f"{wanted}&w=640"):
        resp = await tclient.get(url)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"


async def test_a_thumbnail_url_of_a_file_changed_since_the_scan_must_revalidate(
    tclient: TestClient, media_tree: Path,
) -> None:
    page = await (await tclient.get("/api/files?tag=Photos")).json()
    url = next(f["thumb_url"] for f in page["files"] if f["name"] == "small.jpg")
    (media_tree / "Photos/small.jpg").write_bytes(jpeg_bytes((60, 40)))  # not rescanned
    resp = await tclient.get(url)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "private, no-cache"  # no longer what ?v= names
    assert Image.open(io.BytesIO(await resp.read())).size == (60, 40)


@pytest.mark.parametrize("query", ["", "?v=1-2"])
async def test_unversioned_or_stale_url_must_revalidate(tclient: TestClient, query: str) -> None:
    resp = await tclient.get(f"/thumb/Photos/red.jpg{query}")
    assert resp.headers["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize(
    "url",
    ["/thumb/nope.jpg", "/thumb/../secret.jpg", "/thumb/%2e%2e/secret.jpg", "/thumb//etc/passwd"],
)
async def test_only_indexed_files_inside_the_root(tclient: TestClient, media_tree: Path,
                                                  url: str) -> None:
    (media_tree.parent / "secret.jpg").write_bytes(jpeg_bytes())
    resp = await tclient.get(url)
    assert resp.status == 404


async def test_file_deleted_after_the_scan_is_404(tclient: TestClient, media_tree: Path) -> None:
    (media_tree / "Photos/red.jpg").unlink()
    resp = await tclient.get("/thumb/Photos/red.jpg")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "file_gone"


async def test_no_more_than_workers_thumbnails_are_made_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    active, peak, lock = 0, 0, threading.Lock()

    def slow_maker(source: str, edge: int) -> bytes:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)  # long enough for the others to pile up behind the semaphore
        with lock:
            active -= 1
        return b"jpeg"

    monkeypatch.setitem(thumbs.MAKERS, "image", slow_maker)
    maker = Thumbnailer(tmp_path / "thumbs", workers=2)
    made = await asyncio.gather(*(maker.make(f"key{i}", "/nowhere", "image") for i in range(6)))
    assert (peak, maker.made, len({m.key for m in made})) == (2, 6, 6)


def test_key_depends_on_path_size_and_mtime() -> None:
    base = thumb_key("a/b.jpg", 10, 1000)
    assert base == thumb_key("a/b.jpg", 10, 1000)
    assert len({base, thumb_key("a/c.jpg", 10, 1000), thumb_key("a/b.jpg", 11, 1000),
                thumb_key("a/b.jpg", 10, 1001), thumb_key("a/b.jpg", 10, 1000, edge=160)}) == 5


def test_key_of_a_name_that_is_not_utf8() -> None:
    name = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")
    assert thumb_key(name, 1, 1) != thumb_key("caf\ufffd.jpg", 1, 1)


async def test_thumbnails_of_changed_and_deleted_files_are_pruned_after_a_rescan(
    started, settings_for, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """The cache does not grow forever: after a publish, stale thumbnails go (past a grace).

    The scan worker prunes: the server process never reads the whole generation for it.
    """
    from mediasrv.server.keys import CACHE

    in_server: list[Path] = []
    monkeypatch.setattr(Thumbnailer, "prune", lambda self, path, **kw: in_server.append(path))
    root = make_tree(tmp_path / "lib", {f"p/{n}.jpg": _small_jpeg(i) for i, n in enumerate("abc")})
    command = worker_command(tmp_path, "", "--prune-every", "0")
    client = await started(settings_for(root), LeaderOptions(scan_command=command))
    for n in "abc":
        assert (await client.get(f"/thumb/p/{n}.jpg")).status == 200
    thumbs_dir = client.app[CACHE].thumbs
    made = sorted(thumbs_dir.rglob("*.jpg"))
    assert len(made) == 3
    for p in made:  # older than the grace period
        os.utime(p, (1_000_000, 1_000_000))
    (root / "p" / "a.jpg").unlink()
    (root / "p" / "b.jpg").write_bytes(_small_jpeg(7))
    await rescan(client)
    # pruned after the result: wait for it
    await until(lambda: len(list(thumbs_dir.rglob("*.jpg"))) == 1, "the pruning")
    st = (root / "p" / "c.jpg").stat()
    assert [p.stem for p in thumbs_dir.rglob("*.jpg")] == [
        thumb_key("p/c.jpg", st.st_size, st.st_mtime_ns)
    ]
    assert in_server == []


async def test_thumbnails_are_pruned_at_most_every_six_hours(
    started, settings_for, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """By default a publish within six hours of the last pruning (here: start-up) does not prune."""
    from mediasrv.server.keys import CACHE

    root = make_tree(tmp_path / "lib", {"a.jpg": _small_jpeg(1)})
    client = await started(settings_for(root))  # generation 1 published: pruned (nothing yet)
    await rescan(client)  # nothing changed: that first pruning, after the result, is over too
    stray = client.app[CACHE].thumbs / "ab" / ("ab" + "0" * 62 + ".jpg")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    os.utime(stray, (1_000_000, 1_000_000))
    make_tree(root, {"b.jpg": _small_jpeg(2)})
    assert (await rescan(client))["status"] == "published"
    await rescan(client)  # nothing changed, so the worker has finished what followed the last one
    assert stray.exists()
    assert PRUNE_EVERY_S == 6 * 3600


def test_pruning_keeps_recent_thumbnails(tmp_path: Path) -> None:
    """A thumbnail made in the grace period may be for a change not scanned yet."""
    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    root = make_tree(tmp_path / "lib", {"a.jpg": _small_jpeg(1)})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    thumbnailer = Thumbnailer(cache.thumbs)
    stray = cache.thumbs / "ab" / ("ab" + "0" * 62 + ".jpg")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    assert thumbnailer.prune(cache.current) == 0
    assert thumbnailer.prune(cache.current, grace_s=-1) == 1
    assert not stray.exists()


def _small_jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade * 30 % 256, 80, 120)).save(out, format="JPEG")
    return out.getvalue()


def test_pruning_reads_no_generation_while_no_thumbnail_is_old_enough(tmp_path: Path) -> None:
    """The first scans of a big library (an empty or fresh cache) cost no read of every row:
    at a million files that read held the scan worker for seconds after the first index."""
    thumbnailer = Thumbnailer(tmp_path / "thumbs")
    missing = tmp_path / "no-such-generation.db"
    assert thumbnailer.prune(missing) == 0  # nothing cached: the generation is never opened
    fresh = tmp_path / "thumbs" / "ab" / ("ab" + "0" * 62 + ".jpg")
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"x")
    assert thumbnailer.prune(missing) == 0  # one, made in the grace period
    assert fresh.exists()
    with pytest.raises(sqlite3.Error):  # one old enough: now the generation is read
        thumbnailer.prune(missing, grace_s=-1)
