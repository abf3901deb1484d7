"""Probing: image size, video size and duration, audio duration; only new and changed files."""

from __future__ import annotations

import io
import logging
import sqlite3
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageFile

from mediasrv import probe, scanbuild
from mediasrv.builder import Probed, build
from mediasrv.cache import CacheDir
from mediasrv.scanjob import run_scan
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings
from mediasrv.walk import walk

from .conftest import make_tree


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 80, 200)).save(out, format="PNG")
    return out.getvalue()


def h264(width: int = 64, height: int = 48, frames: int = 20, rate: int = 10) -> bytes:
    """A real H.264 MP4 of ``frames / rate`` seconds."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            pixels = np.full((height, width, 3), (i * 10) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x10" * int(rate * seconds))
    return out.getvalue()


@pytest.fixture(scope="module")
def video() -> bytes:
    return h264()


def media_tree(video: bytes) -> dict[str | bytes, bytes | str]:
    return {
        "Pics/wide.jpg": jpeg(40, 30),
        "Pics/tall.png": png(12, 34),
        "Clips/clip.mp4": video,
        "Music/tone.wav": wav(1.5),
        "notes.txt": "not media",
    }


def columns(cache: CacheDir) -> dict[str, tuple[Any, Any, Any]]:
    conn = sqlite3.connect(cache.current)
    try:
        rows = conn.execute("SELECT path, width, height, duration FROM files").fetchall()
    finally:
        conn.close()
    return {path: (w, h, d) for path, w, h, d in rows}


# -- one file ---------------------------------------------------------------


def test_image_size_comes_from_the_header(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(40, 30))
    assert probe.probe_file(str(tmp_path / "a.jpg"), "image") == Probed(width=40, height=30)


@pytest.mark.parametrize(("name", "data", "size"), [
    ("a.jpg", jpeg(40, 30), (40, 30)), ("b.png", png(12, 34), (12, 34))], ids=["jpeg", "png"])
def test_images_are_probed_without_decoding_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes,
    size: tuple[int, int],
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    (tmp_path / name).write_bytes(data)
    assert probe.probe_file(str(tmp_path / name), "image") == Probed(*size)


def test_a_sideways_photo_reports_its_shown_size(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, format="JPEG", exif=exif.tobytes())
    (tmp_path / "portrait.jpg").write_bytes(out.getvalue())
    assert probe.probe_file(str(tmp_path / "portrait.jpg"), "image") == Probed(
        width=30, height=40)


def test_video_size_and_duration(tmp_path: Path, video: bytes) -> None:
    (tmp_path / "v.mp4").write_bytes(video)
    assert probe.probe_file(str(tmp_path / "v.mp4"), "video") == Probed(
        width=64, height=48, duration=2.0)


def test_audio_duration(tmp_path: Path) -> None:
    (tmp_path / "t.wav").write_bytes(wav(1.5))
    assert probe.probe_file(str(tmp_path / "t.wav"), "audio") == Probed(duration=1.5)


@pytest.mark.parametrize(("name", "kind"), [("bad.jpg", "image"), ("bad.mp4", "video"),
                                            ("bad.wav", "audio")])
def test_a_corrupt_file_raises_probe_error(tmp_path: Path, name: str, kind: str) -> None:
    (tmp_path / name).write_bytes(b"this is not media at all" * 10)
    with pytest.raises(probe.ProbeError):
        probe.probe_file(str(tmp_path / name), kind)


def test_a_truncated_video_raises_probe_error(tmp_path: Path, video: bytes) -> None:
    (tmp_path / "cut.mp4").write_bytes(video[:200])
    with pytest.raises(probe.ProbeError):
        probe.probe_file(str(tmp_path / "cut.mp4"), "video")


def test_a_name_that_is_not_utf8_is_probed(tmp_path: Path, video: bytes) -> None:
    root = make_tree(tmp_path / "lib", {b"clip\xff.mp4": video, b"pic\xfe.jpg": jpeg(6, 2)})
    found, stats = probe.probe_records(str(root), list(walk(root)))
    assert (stats.probed, stats.failed) == (2, 0)
    assert sorted(found.values(), key=repr) == [
        Probed(width=6, height=2), Probed(width=64, height=48, duration=2.0)]


def test_empty_and_unknown_files_are_skipped_unopened(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"empty.jpg": b"", "doc.txt": "x", "pic.svg": "<svg/>"})
    found, stats = probe.probe_records(str(root), list(walk(root)))
    assert found == {}
    assert (stats.candidates, stats.probed, stats.failed, stats.skipped) == (3, 0, 0, 3)


def test_a_thread_pool_probes_many_videos_alike(tmp_path: Path, video: bytes) -> None:
    files = {f"v{i:02}.mp4": video for i in range(probe.POOL_THRESHOLD + 4)}
    files.update({"a.jpg": jpeg(5, 7), "bad.mp4": b"junk" * 50})
    root = make_tree(tmp_path / "lib", files)
    records = list(walk(root))
    seen: list[tuple[int, int]] = []
    found, stats = probe.probe_records(str(root), records, workers=2,
                                       progress=lambda d, t: seen.append((d, t)))
    assert (stats.probed, stats.failed) == (probe.POOL_THRESHOLD + 5, 1)
    assert found["v03.mp4"] == Probed(width=64, height=48, duration=2.0)
    assert found["a.jpg"] == Probed(width=5, height=7)
    assert seen[0] == (0, probe.POOL_THRESHOLD + 6)
    assert seen[-1] == (probe.POOL_THRESHOLD + 6, probe.POOL_THRESHOLD + 6)


# -- in a scan --------------------------------------------------------------


def test_first_scan_stores_sizes_and_durations(tmp_path: Path, video: bytes) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    result = run_scan(root, cache)
    assert (result.probe["probed"], result.probe["failed"]) == (4, 0)
    assert columns(cache) == {
        "Pics/wide.jpg": (40, 30, None),
        "Pics/tall.png": (12, 34, None),
        "Clips/clip.mp4": (64, 48, 2.0),
        "Music/tone.wav": (None, None, 1.5),
        "notes.txt": (None, None, None),
    }


def test_scan_reports_a_probing_phase_with_counts(tmp_path: Path, video: bytes) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    events: list[dict[str, object]] = []
    run_scan(root, CacheDir(tmp_path / "cache"), events.append)
    probing = [e for e in events if e["phase"] == "probing"]
    assert probing[0] == {"phase": "probing", "files": 5, "done": 0, "total": 4}
    assert probing[-1] == {"phase": "probing", "files": 5, "done": 4, "total": 4}
    phases = list(dict.fromkeys(str(e["phase"]) for e in events))
    assert phases.index("walking") < phases.index("probing") < phases.index("building")


def test_a_no_change_rescan_probes_nothing(tmp_path: Path, video: bytes) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    again = run_scan(root, cache)
    assert again.status == "unchanged"
    assert again.probe["probed"] == 0
    assert again.probe["candidates"] == 0


def test_only_the_new_file_is_probed_and_the_rest_keep_their_metadata(
    tmp_path: Path, video: bytes
) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"Pics/new.jpg": jpeg(9, 8)})
    result = run_scan(root, cache)
    assert (result.status, result.added, result.probe["candidates"],
            result.probe["probed"]) == ("published", 1, 1, 1)
    assert columns(cache) == {
        "Pics/wide.jpg": (40, 30, None),
        "Pics/tall.png": (12, 34, None),
        "Pics/new.jpg": (9, 8, None),
        "Clips/clip.mp4": (64, 48, 2.0),
        "Music/tone.wav": (None, None, 1.5),
        "notes.txt": (None, None, None),
    }


def test_a_changed_file_is_probed_again(tmp_path: Path, video: bytes) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"Pics/wide.jpg": jpeg(50, 20)})
    result = run_scan(root, cache)
    assert (result.changed, result.probe["probed"]) == (1, 1)
    assert columns(cache)["Pics/wide.jpg"] == (50, 20, None)


def test_corrupt_media_does_not_fail_the_scan(tmp_path: Path, video: bytes) -> None:
    tree = media_tree(video)
    tree.update({"Pics/broken.jpg": b"\xff\xd8\xff garbage", "Clips/broken.mp4": video[:300]})
    root = make_tree(tmp_path / "lib", tree)
    cache = CacheDir(tmp_path / "cache")
    result = run_scan(root, cache)
    assert result.status == "published"
    assert (result.files, result.probe["probed"], result.probe["failed"]) == (7, 4, 2)
    found = columns(cache)
    assert found["Pics/broken.jpg"] == (None, None, None)
    assert found["Clips/broken.mp4"] == (None, None, None)
    assert found["Clips/clip.mp4"] == (64, 48, 2.0)


def test_a_corrupt_file_is_not_probed_again_until_it_changes(
    tmp_path: Path, video: bytes
) -> None:
    root = make_tree(tmp_path / "lib", {"broken.jpg": b"garbage" * 9, "ok.jpg": jpeg(3, 4)})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"other.txt": "a change elsewhere"})
    result = run_scan(root, cache)
    assert (result.status, result.probe["candidates"], result.probe["failed"]) == (
        "published", 1, 0)


def test_a_generation_built_without_probing_is_probed_once(
    tmp_path: Path, video: bytes
) -> None:
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    cache.ensure()
    # An index from before probing existed: no sizes, no probe_version.
    build(cache, cache.next_number(), list(walk(root)), root=str(root.resolve()))
    make_tree(root, {"more.txt": "x"})
    first = run_scan(root, cache)
    assert (first.added, first.probe["probed"]) == (1, 4)
    assert columns(cache)["Clips/clip.mp4"] == (64, 48, 2.0)
    make_tree(root, {"more2.txt": "y"})
    assert run_scan(root, cache).probe["probed"] == 0


# -- a big first scan publishes first, probes next ------------------------------


def test_a_big_first_scan_can_defer_probing_to_the_next_scan(
    tmp_path: Path, video: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanbuild, "DEFER_OVER", 3)
    root = make_tree(tmp_path / "lib", media_tree(video))
    cache = CacheDir(tmp_path / "cache")
    first = run_scan(root, cache, defer_probing=True)
    assert (first.status, first.probe["deferred"], first.probe["probed"]) == ("published", 4, 0)
    assert columns(cache)["Clips/clip.mp4"] == (None, None, None)
    second = run_scan(root, cache, defer_probing=True)  # nothing changed on disk
    assert (second.status, second.probe["deferred"], second.probe["probed"]) == (
        "published", 0, 4)
    assert columns(cache)["Clips/clip.mp4"] == (64, 48, 2.0)
    assert run_scan(root, cache, defer_probing=True).status == "unchanged"


def test_a_small_first_scan_probes_at_once(
    tmp_path: Path, video: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanbuild, "DEFER_OVER", 4)
    root = make_tree(tmp_path / "lib", media_tree(video))
    first = run_scan(root, CacheDir(tmp_path / "cache"), defer_probing=True)
    assert (first.probe["deferred"], first.probe["probed"]) == (0, 4)


async def test_the_server_follows_a_deferred_first_scan_with_a_probing_scan(
    started: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    picture = jpeg(7, 5)
    count = probe.DEFER_OVER + 1
    root = make_tree(tmp_path / "lib", {f"Pics/p{i:04}.jpg": picture for i in range(count)})
    client = await started(settings_for(root))
    coordinator = client.app[COORDINATOR]
    assert coordinator.scans_run == 2
    last = coordinator.last.as_dict()
    assert (last["reasons"], last["probe"]["probed"]) == (["probing"], count)
    body = await (await client.get("/api/file", params={"path": "Pics/p0042.jpg"})).json()
    assert (body["file"]["width"], body["file"]["height"]) == (7, 5)


# -- files that only have a media file's name ------------------------------------


def mp3(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=22050)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=int(22050 * seconds))
        frame.planes[0].update(bytes(2 * int(22050 * seconds)))
        frame.sample_rate = 22050
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return out.getvalue()


def test_real_media_of_every_kind_looks_like_media(video: bytes) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    webp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(webp, "WEBP")
    tiff = io.BytesIO()
    Image.new("RGB", (4, 4)).save(tiff, "TIFF")
    tagged = mp3(0.2)
    tag_size = 10 + sum((tagged[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))  # ID3v2
    for data in (jpeg(4, 4), png(4, 4), gif.getvalue(), webp.getvalue(), tiff.getvalue(),
                 video, wav(0.1), tagged, tagged[tag_size:]):  # an MP3 without its ID3 tag too
        assert probe.looks_like_media(data[:probe.HEAD]), data[:16]


@pytest.mark.parametrize("data", [
    b"this is not media at all", b"\x00" * 600, b"%PDF-1.7\n", b"PK\x03\x04zip",
    b"<html><body>", b"Good day" * 60, b"#!/bin/sh\n",
])
def test_text_zeros_and_documents_do_not(data: bytes) -> None:
    assert not probe.looks_like_media(data[:probe.HEAD])


def test_files_that_are_not_media_are_never_handed_to_a_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(probe, "_probe_image", lambda path: opened.append(path))
    monkeypatch.setattr(probe, "_probe_av", lambda path, kind: opened.append(path))
    root = make_tree(tmp_path / "lib", {f"fake{i}.{ext}": "looks like media, is text"
                                        for i in range(30) for ext in ("jpg", "mp4", "mp3")})
    caplog.set_level(logging.INFO)
    found, stats = probe.probe_records(str(root), list(walk(root)))
    assert (found, opened) == ({}, [])
    assert (stats.failed, stats.rejected, stats.probed) == (90, 90, 0)
    assert stats.examples and "not a media file" in stats.examples[0]
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # each one: DEBUG


def test_a_scan_of_unreadable_media_says_so_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    root = make_tree(tmp_path / "lib", {
        **{f"fake/{i}.jpg": "text" for i in range(50)},
        "bad/cut.jpg": b"\xff\xd8\xff\xe0 a JPEG header, then nothing",
        "ok.jpg": jpeg(4, 4),
    })
    caplog.set_level(logging.INFO)
    result = run_scan(root, CacheDir(tmp_path / "cache"))
    assert (result.probe["probed"], result.probe["failed"], result.probe["rejected"]) == (
        1, 51, 50)
    lines = [r.getMessage() for r in caplog.records
             if r.levelno >= logging.INFO and r.name == "mediasrv.scanbuild"
             and "metadata" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("could not read the metadata of 51 of 52 new or changed media "
                               "files, 50 of them not media files by their first bytes; e.g. ")
    assert lines[0].count(": ") <= 4  # a few examples, not fifty
