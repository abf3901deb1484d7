"""Probing: image size, video size and duration, audio duration; only new and changed files."""

from __future__ import annotations

import io
import logging
import sqlite3
import struct
import warnings
import wave
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageFile

from mediasrv.index.cachedir import CacheDir
from mediasrv.index.filerows import Probed
from mediasrv.scan import build as scanbuild
from mediasrv.scan import dates, fullbuild, probe, sniff
from mediasrv.scan.job import run_scan
from mediasrv.scan.staging import Staged
from mediasrv.scan.walk import Record, walk
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

from .support import EXIF_IFD, OFFSET_ORIGINAL, ORIGINAL, SUBSEC_ORIGINAL, dated, make_tree


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 80, 200)).save(out, format="PNG")
    return out.getvalue()


def h264(width: int = 64, height: int = 48, frames: int = 20, rate: int = 10, *,
         metadata: dict[str, str] | None = None, fmt: str = "mp4") -> bytes:
    """A real H.264 MP4 (or ``fmt``) of ``frames / rate`` seconds, with container ``metadata``."""
    out = io.BytesIO()
    # The mp4 muxer writes creation_time by itself; other keys (QuickTime's
    # com.apple.quicktime.creationdate) only with movflags=use_metadata_tags.
    options = {"movflags": "use_metadata_tags"} if fmt == "mp4" and metadata else {}
    with av.open(out, mode="w", format=fmt, options=options) as container:
        container.metadata.update(metadata or {})
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
    records, number = list(walk(root)), cache.next_number()
    cache.publish(number, lambda tmp: fullbuild.write(tmp, number, records,
                                                      root=str(root.resolve())))
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
    assert first.probe["candidates"] == 5  # counted as the walk staged them: every file
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


def test_a_cold_scans_probing_reads_back_only_what_staging_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first walk's files are staged with a count of the media files among them: probing
    lists the same files as a pass over every record would, reading back only the files
    that are not empty, and none at all when the count is nought."""
    found = [Record("a/x.jpg", 10, 1), Record("a/y.jpg", 0, 1), Record("a/z.txt", 5, 1),
             Record("b/s.mp3", 3, 1), Record("b/t.MP4", 7, 1), Record("b/.jpg", 4, 1)]
    listed: list[list[Record]] = []
    monkeypatch.setattr(scanbuild, "_probe", lambda scan, todo, files: (
        listed.append(todo), ({}, probe.ProbeStats()))[1])
    reads: list[str] = []
    read = Staged._read
    monkeypatch.setattr(Staged, "_read", lambda self, sql, args=(): (
        reads.append(sql), read(self, sql, args))[1])
    staged = Staged(tmp_path)
    staged.add(found[:3])
    staged.add(found[3:])
    _, stats = scanbuild._probe_new(None, staged, lambda rec: True, defer=False, all_new=True)
    _, by_pass = scanbuild._probe_new(None, found, lambda rec: True, defer=False)
    assert listed[0] == listed[1] == [r for r in found if probe.wants_probe(r)]
    assert listed[0] == [found[0], found[3], found[4]]
    assert (stats.candidates, stats.skipped) == (by_pass.candidates, by_pass.skipped) == (6, 3)
    assert reads == ["SELECT path, size, mtime_ns FROM staged WHERE size > 0"]
    empty = Staged(tmp_path)
    empty.add([Record(f"c/{n}.jpg", 0, 1) for n in range(5)] + [Record("c/d.txt", 9, 1)])
    reads.clear()
    _, stats = scanbuild._probe_new(None, empty, lambda rec: True, defer=True, all_new=True)
    assert (listed[2], reads, stats.candidates, stats.skipped) == ([], [], 6, 6)
    staged.close()
    empty.close()


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
        assert sniff.looks_like_media(data[:sniff.HEAD]), data[:16]


@pytest.mark.parametrize("data", [
    b"this is not media at all", b"\x00" * 600, b"%PDF-1.7\n", b"PK\x03\x04zip",
    b"<html><body>", b"Good day" * 60, b"#!/bin/sh\n",
])
def test_text_zeros_and_documents_do_not(data: bytes) -> None:
    assert not sniff.looks_like_media(data[:sniff.HEAD])


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
             if r.levelno >= logging.INFO and r.name == "mediasrv.scan.build"
             and "metadata" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("could not read the metadata of 51 of 52 new or changed media "
                               "files, 50 of them not media files by their first bytes; e.g. ")
    assert lines[0].count(": ") <= 4  # a few examples, not fifty


# -- the date taken ----------------------------------------------------------------
DIGITIZED, OFFSET_DIGITIZED, SUBSEC_DIGITIZED = 0x9004, 0x9012, 0x9292


def utc_ns(*wall: int, hours: float = 0, fraction_ns: int = 0) -> int:
    """ns since the epoch of wall-clock time ``wall`` at UTC offset ``hours``."""
    zone = timezone(timedelta(hours=hours))
    return int(datetime(*wall, tzinfo=zone).timestamp()) * 1_000_000_000 + fraction_ns


def probed(tmp_path: Path, name: str, data: bytes, kind: str = "image") -> Probed:
    (tmp_path / name).write_bytes(data)
    return probe.probe_file(str(tmp_path / name), kind)


def test_a_photo_is_taken_at_its_date_time_original_with_its_offset_and_subseconds(
    tmp_path: Path, local_zone: Callable[[str], None],
) -> None:
    local_zone("JST-9")  # the offset the photo states wins over the scanning machine's
    data = dated({ORIGINAL: "2021:07:04 18:30:05", OFFSET_ORIGINAL: "+02:00",
                  SUBSEC_ORIGINAL: "25"})
    assert probed(tmp_path, "a.jpg", data) == Probed(
        width=40, height=30, taken_ns=1_625_416_205_250_000_000)
    assert utc_ns(2021, 7, 4, 16, 30, 5, fraction_ns=250_000_000) == 1_625_416_205_250_000_000


@pytest.mark.parametrize(("tz", "wall", "hours"), [
    ("UTC0", (2021, 7, 4, 18, 30, 5), 0),
    ("CET-1CEST,M3.5.0,M10.5.0/3", (2021, 7, 4, 18, 30, 5), 2),  # summer time
    ("CET-1CEST,M3.5.0,M10.5.0/3", (2021, 1, 4, 18, 30, 5), 1),
    ("EST+5", (2021, 7, 4, 18, 30, 5), -5),
])
def test_a_time_without_an_offset_is_read_in_the_local_zone(
    tmp_path: Path, local_zone: Callable[[str], None], tz: str, wall: tuple[int, ...],
    hours: int,
) -> None:
    local_zone(tz)
    text = "{:04}:{:02}:{:02} {:02}:{:02}:{:02}".format(*wall)
    found = probed(tmp_path, "naive.jpg", dated({ORIGINAL: text})).taken_ns
    assert found == utc_ns(*wall, hours=hours)
    # As documented: datetime's reading of a naive time, in this process's zone.
    assert found == int(datetime(*wall).timestamp()) * 1_000_000_000


@pytest.mark.parametrize("text", [
    "0000:00:00 00:00:00", "    :  :     :  :  ", "", "yesterday", "2021:13:45 25:61:61",
    "2021:02:30 10:00:00", "9999:12:31 23:59:59",  # past what ns in an int64 can hold
])
def test_a_zero_blank_or_bad_date_leaves_the_size(tmp_path: Path, text: str) -> None:
    data = dated({ORIGINAL: text, OFFSET_ORIGINAL: "+02:00"}, orientation=6)
    assert probed(tmp_path, "bad-date.jpg", data) == Probed(width=30, height=40)


def test_the_date_digitized_stands_in_for_a_missing_or_bad_original(tmp_path: Path) -> None:
    digitized = {DIGITIZED: "2019:05:06 07:08:09", OFFSET_DIGITIZED: "-05:00",
                 SUBSEC_DIGITIZED: "5", OFFSET_ORIGINAL: "+09:00", SUBSEC_ORIGINAL: "123"}
    expected = utc_ns(2019, 5, 6, 12, 8, 9, fraction_ns=500_000_000)
    assert probed(tmp_path, "d.jpg", dated(digitized)).taken_ns == expected
    bad_original = {**digitized, ORIGINAL: "0000:00:00 00:00:00"}
    assert probed(tmp_path, "e.jpg", dated(bad_original)).taken_ns == expected


def test_the_edit_time_is_not_the_date_taken(tmp_path: Path) -> None:
    data = dated({}, edited="2023:01:01 12:00:00")
    assert probed(tmp_path, "edited.jpg", data) == Probed(width=40, height=30)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_date_taken_is_read_without_decoding_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str,
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    data = dated({ORIGINAL: "2021:07:04 18:30:05", OFFSET_ORIGINAL: "+02:00"}, fmt=fmt)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert probed(tmp_path, f"a.{fmt.lower()}", data).taken_ns == utc_ns(
        2021, 7, 4, 16, 30, 5)


def broken_exif(exif_ifd_at: int) -> bytes:
    """EXIF of a sideways photo whose Exif IFD pointer points at ``exif_ifd_at``."""
    entries = (struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)  # orientation 6, a SHORT
               + struct.pack("<HHII", EXIF_IFD, 4, 1, exif_ifd_at))  # a LONG
    return (b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 2) + entries
            + struct.pack("<I", 0))


@pytest.mark.parametrize("at", [0x7FFFFFF0, 8], ids=["past-the-end", "ifd0-again"])
@pytest.mark.parametrize("action", ["ignore", "error"])
def test_a_broken_exif_ifd_leaves_the_size(tmp_path: Path, at: int, action: str) -> None:
    """Pillow warns about the pointer past the end; as an error, it raises from get_ifd."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, format="JPEG", exif=broken_exif(at))
    with warnings.catch_warnings():
        warnings.simplefilter(action)  # type: ignore[arg-type]
        assert probed(tmp_path, "broken.jpg", out.getvalue()) == Probed(width=30, height=40)


@pytest.fixture(scope="module")
def dated_videos() -> dict[str, bytes]:
    created = {"creation_time": "2020-02-03T04:05:06.000000Z"}
    return {
        "created.mp4": h264(frames=10, metadata=created),
        # As an iPhone writes them: QuickTime's local time with its offset, and UTC.
        "iphone.mp4": h264(frames=10, metadata={
            **created, "com.apple.quicktime.creationdate": "2024-06-01T14:00:00+0200"}),
        "zero-apple.mp4": h264(frames=10, metadata={
            **created, "com.apple.quicktime.creationdate": "1904-01-01T00:00:00Z"}),
        "fraction.mkv": h264(frames=10, fmt="matroska",
                             metadata={"creation_time": "2020-02-03T04:05:06.250000Z"}),
        # The mp4 muxer writes neither epoch; Matroska's DateUTC keeps them.
        "1970.mkv": h264(frames=10, fmt="matroska",
                         metadata={"creation_time": "1970-01-01T00:00:00.000000Z"}),
        "1904.mkv": h264(frames=10, fmt="matroska",
                         metadata={"creation_time": "1904-01-01T00:00:00.000000Z"}),
        "undated.mp4": h264(frames=10),
    }


@pytest.mark.parametrize(("name", "taken"), [
    ("created.mp4", 1_580_702_706_000_000_000),  # 2020-02-03T04:05:06Z
    ("iphone.mp4", 1_717_243_200_000_000_000),  # 2024-06-01T12:00:00Z
    ("zero-apple.mp4", 1_580_702_706_000_000_000),  # QuickTime's says none: creation_time
    ("fraction.mkv", 1_580_702_706_250_000_000),
    ("1970.mkv", None), ("1904.mkv", None), ("undated.mp4", None),
])
def test_a_video_is_taken_at_its_creation_time(
    tmp_path: Path, dated_videos: dict[str, bytes], name: str, taken: int | None,
) -> None:
    found = probed(tmp_path, name, dated_videos[name], "video")
    assert (found.width, found.height, found.duration) == (64, 48, 1.0)
    assert found.taken_ns == taken


def m4a(metadata: dict[str, str]) -> bytes:
    """A real AAC song in MP4 of 10 frames (1.28 s), with container ``metadata``."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="ipod") as container:
        container.metadata.update(metadata)
        stream = container.add_stream("aac", rate=8000)
        stream.layout = "mono"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def test_a_song_has_no_date_taken_even_with_a_creation_time(tmp_path: Path) -> None:
    song = m4a({"creation_time": "2020-02-03T04:05:06.000000Z"})
    with av.open(io.BytesIO(song)) as container:  # the file does state it
        assert container.metadata["creation_time"] == "2020-02-03T04:05:06.000000Z"
    found = probed(tmp_path, "song.m4a", song, "audio")
    # mutagen reads songs (songs.py): its length counts the AAC encoder's priming frame,
    # which FFmpeg's edit list hides (1.28 s), so 11 frames of 1024 samples at 8 kHz.
    assert (found.duration, found.taken_ns) == (1.408, None)
    assert probed(tmp_path, "tone.wav", wav(1.0), "audio") == Probed(duration=1.0)


def test_a_scan_stores_the_date_taken(tmp_path: Path, dated_videos: dict[str, bytes]) -> None:
    root = make_tree(tmp_path / "lib", {
        "photo.jpg": dated({ORIGINAL: "2021:07:04 18:30:05", OFFSET_ORIGINAL: "+02:00"}),
        "plain.jpg": jpeg(4, 4),
        "clip.mp4": dated_videos["created.mp4"],
    })
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)
    try:
        stored = dict(conn.execute("SELECT path, taken_ns FROM files").fetchall())
        version = conn.execute("SELECT value FROM meta WHERE key = 'probe_version'").fetchone()
    finally:
        conn.close()
    assert stored == {"photo.jpg": utc_ns(2021, 7, 4, 16, 30, 5), "plain.jpg": None,
                      "clip.mp4": 1_580_702_706_000_000_000}
    assert version == (probe.PROBE_VERSION,) == (4,)


# -- the date parsers on their own ---------------------------------------------

T0 = utc_ns(2021, 7, 4, 18, 30, 5)  # 2021-07-04T18:30:05Z


@pytest.mark.parametrize(("value", "offset", "subsec", "expected"), [
    ("2021:07:04 18:30:05", "+00:00", None, T0),
    ("2021:07:04 18:30:05", "Z", None, T0),
    ("2021:07:04 18:30:05", "+02:00", None, T0 - 7200 * 10**9),
    ("2021:07:04 18:30:05", "-03:30", None, T0 + 12600 * 10**9),
    ("2021:07:04 18:30:05", "+0200", None, T0 - 7200 * 10**9),
    (b"2021:07:04 18:30:05\x00", b"+00:00\x00", b"050\x00", T0 + 50_000_000),  # bytes, NULs
    (" 2021:07:04 18:30:05 ", "+00:00", "  123456789123", T0 + 123_456_789),  # ns at most
    ("2021-07-04T18:30:05", "+00:00", None, T0),  # dashes and a T
    ("2021:07:04 18:30:05.5+00:00", None, None, T0 + 500_000_000),  # in the text itself
    ("2021:07:04 18:30:05.5+09:00", "+00:00", "25", T0 + 250_000_000),  # the tags win
    ("2021:07:04 18:30:05", "+00:00", "abc", T0),  # sub-seconds that are not digits: none
    ("2021:07:04 18:30:05", "+00:00", 7, T0),  # nor that are not text
    ("0000:00:00 00:00:00", "+00:00", "00", None),
    ("    :  :     :  :  ", "   :  ", "   ", None),
    ("2021:07:04", "+00:00", None, None),  # no time of day
    ("2021:07:04 24:00:00", "+00:00", None, None),
    ("2021:07:04 18:30:60", "+00:00", None, None),  # no leap seconds in datetime
    ("0001:01:01 00:00:00", "+01:00", None, None),  # before datetime's year 1
    ("1600:01:01 00:00:00", "+00:00", None, None),  # before what ns in an int64 can hold
    ("2262:04:12 00:00:00", "+00:00", None, None),  # after it
    ("20210704 183005", "+00:00", None, None),
    ("2021:07:04 18:30:05 and more", "+00:00", None, None),
    ("٢٠٢١:٠٧:٠٤ ١٨:٣٠:٠٥", "+00:00", None, None),  # digits, but not ASCII ones
    (None, "+00:00", None, None),
    (2021, None, None, None),
    (("2021:07:04 18:30:05",), None, None, None),
])
def test_exif_time(value: object, offset: object, subsec: object, expected: int | None) -> None:
    assert dates.exif_time(value, offset, subsec) == expected


@pytest.mark.parametrize("offset", [None, "", "   :  ", "+25:00", "+02:75", "local", 2])
def test_an_exif_offset_that_cannot_be_read_leaves_the_time_naive(
    local_zone: Callable[[str], None], offset: object,
) -> None:
    local_zone("EST+5")
    assert dates.exif_time("2021:07:04 18:30:05", offset) == T0 + 5 * 3600 * 10**9


@pytest.mark.parametrize(("value", "expected"), [
    ("2020-02-03T04:05:06.000000Z", 1_580_702_706_000_000_000),
    ("2020-02-03T04:05:06Z", 1_580_702_706_000_000_000),
    ("2020-02-03 04:05:06", 1_580_702_706_000_000_000),  # no zone: UTC
    ("2020-02-03T04:05:06.123456789Z", 1_580_702_706_123_456_789),
    ("2024-06-01T14:00:00+0200", 1_717_243_200_000_000_000),
    ("2024-06-01T14:00:00+02:00", 1_717_243_200_000_000_000),
    ("2024-06-01T14:00:00+02", 1_717_243_200_000_000_000),
    ("2024-05-31T21:00:00-1500", 1_717_243_200_000_000_000),  # any offset below 24 h
    (b"2020-02-03T04:05:06Z\x00", 1_580_702_706_000_000_000),
    ("1904-01-01T00:00:00.000000Z", None),  # QuickTime's zero
    ("1904-01-01T00:00:00+0100", None),  # its wall clock, whatever the zone
    ("1903-12-31T19:00:00-0500", None),  # its instant
    ("1970-01-01T00:00:00.000000Z", None),  # Unix's zero
    ("1970-01-01T00:00:00", None),
    ("1969-12-31T19:00:00-0500", None),
    ("1970-01-01T00:00:01Z", 1_000_000_000),  # a second past it is a time
    ("1969-12-31T23:59:59Z", -1_000_000_000),
    ("2020-02-03T04:05:06+25:00", None),  # an impossible offset
    ("2020-02-03", None), ("2020-02-03T04:05", None), ("0000-00-00T00:00:00Z", None),
    ("2020-02-30T04:05:06Z", None), ("9999-12-31T23:59:59Z", None), ("", None),
    ("now", None), (None, None), (1_580_702_706, None),
])
def test_container_time(value: object, expected: int | None) -> None:
    assert dates.container_time(value) == expected


def test_quicktime_s_creation_date_comes_before_creation_time() -> None:
    utc, local = "2020-02-03T04:05:06.000000Z", "2024-06-01T14:00:00+0200"
    assert dates.video_taken({"creation_time": utc}) == 1_580_702_706_000_000_000
    assert dates.video_taken({"creation_time": utc, "com.apple.quicktime.creationdate": local}) \
        == 1_717_243_200_000_000_000
    assert dates.video_taken({"creation_time": utc,
                              "com.apple.quicktime.creationdate": "garbage"}) \
        == 1_580_702_706_000_000_000
    assert dates.video_taken({"title": "holiday"}) is None
    assert dates.video_taken({}) is None
