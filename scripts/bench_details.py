#!/usr/bin/env python3
"""Probing with cameras' details and songs' tags (issue 25): files/s, a base commit beside this.

    python scripts/bench_details.py [--jpegs 100000] [--songs 10000] [--runs 3] [--base main]
                                    [--dir /tmp/bench-details] [--quick] [--json FILE]

Makes a library of small real JPEGs (640x480, EXIF with a camera, lens,
exposure, date, place and the ~20 other tags a camera writes; one without a
place, one without a camera, one without EXIF) and of real tagged MP3s (30 s,
ID3 title/artist/album/track/year/genre, two with a 30 KB cover): a few
distinct files, each hard-linked many times, so the disk holds a few files
and the page cache is warm (this is the probers' own cost, as in
bench_probe.py). Then runs ``probe.probe_records`` (what a scan runs, default
threads) on each folder in a fresh process per run, with the ``--base``
commit's mediasrv (``git archive``) and with this checkout's, in turn, and
prints the median files/s of each and their ratio.
Goal (issue 25): probing with the new fields at most 10 % slower.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib

KINDS = ("jpeg", "song")
GOAL = 1.10  # at most 10 % slower: the time per file after / before


def jpegs() -> list[bytes]:
    """Four small real JPEGs: a phone's or camera's EXIF with a place, the same without a
    place, only the date and the rest a camera writes (no camera), no EXIF."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational as R

    made = []
    for variant in range(4):
        exif = Image.Exif()
        if variant < 3:  # what a camera or phone writes beside the date (~20 tags)
            exif[0x0112], exif[0x0131], exif[0x0132] = 1, "Firmware 1.6", "2024:07:20 09:00:00"
            exif.get_ifd(0x8769).update(
                {
                    0x9000: b"0232",
                    0x9003: f"2024:07:1{variant} 10:00:00",
                    0x9004: f"2024:07:1{variant} 10:00:00",
                    0x9010: "+02:00",
                    0x9011: "+02:00",
                    0x9291: "25",
                    0x8822: 2,
                    0x9207: 5,
                    0x9209: 16,
                    0xA001: 1,
                    0xA002: 640,
                    0xA003: 480,
                    0xA402: 0,
                    0xA403: 0,
                    0xA406: 0,
                    0x9204: R(0, 1),
                    0x9202: R(4, 1),
                    0xA405: 35,
                }
            )
        if variant < 2:
            exif[0x010F], exif[0x0110] = "Canon", f"EOS R{variant + 5}"
            exif.get_ifd(0x8769).update(
                {
                    0xA434: "RF24-105mm F4 L IS USM",
                    0x920A: R(35, 1),
                    0x829D: R(56, 10),
                    0x829A: R(1, 320),
                    0x8827: 400,
                }
            )
        if variant == 0:  # a phone's place: position, altitude, time, direction
            exif.get_ifd(0x8825).update(
                {
                    0: b"\x02\x02\x00\x00",
                    1: "N",
                    2: (R(48), R(8), R(30)),
                    3: "E",
                    4: (R(11), R(34), R(3, 2)),
                    5: 0,
                    6: R(5191, 10),
                    7: (R(8), R(0), R(0)),
                    29: "2024:07:10",
                    16: "T",
                    17: R(12345, 100),
                }
            )
        picture = Image.effect_noise((640, 480), 30 + variant).convert("RGB")
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85, exif=exif.tobytes())
        made.append(out.getvalue())
    return made


def mp3s() -> list[bytes]:
    """Three real 30 s MP3s (libmp3lame, 44.1 kHz stereo) with ID3 tags, two with a cover."""
    import av
    from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TRCK
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=44100)
        stream.layout = "stereo"
        for at in range(0, 44100 * 30, 1152):
            frame = av.AudioFrame(format="s16", layout="stereo", samples=1152)
            frame.planes[0].update(os.urandom(4) * 1152)
            frame.sample_rate, frame.pts = 44100, at
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    cover = io.BytesIO()
    Image.effect_noise((300, 300), 40).convert("RGB").save(cover, "JPEG", quality=80)
    made = []
    for n in range(3):
        song = io.BytesIO(out.getvalue())
        tags = ID3()
        for frame in (
            TIT2(text=f"Song {n}"),
            TPE1(text="Band"),
            TPE2(text="Band"),
            TALB(text="Album 2019"),
            TRCK(text=f"{n + 1}/12"),
            TDRC(text="2019"),
            TCON(text="Rock"),
        ):
            tags.add(frame)
        if n < 2:
            tags.add(APIC(mime="image/jpeg", type=3, desc="", data=cover.getvalue()))
        tags.save(song)
        made.append(song.getvalue())
    return made


def make_library(work: Path, counts: dict[str, int]) -> None:
    """``counts[kind]`` files of each kind under work/kind/, 1,000 names per folder."""
    for kind, count in counts.items():
        folder = work / kind
        if folder.exists() and sum(len(f) for _, _, f in os.walk(folder)) == count:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        originals = jpegs() if kind == "jpeg" else mp3s()
        ext = "jpg" if kind == "jpeg" else "mp3"
        sources = []
        for n, data in enumerate(originals):
            source = work / f"{kind}-{n}.{ext}"
            source.write_bytes(data)
            sources.append(source)
        for i in range(count):
            sub = folder / f"{i // 1000:03d}"
            if i % 1000 == 0:
                sub.mkdir(parents=True)
            os.link(sources[i % len(sources)], sub / f"{i:06d}.{ext}")


def worker(folder: Path) -> None:
    """(In a child, with the measured tree's mediasrv.) Probe every file; one JSON line."""
    from mediasrv.scan import probe
    from mediasrv.scan.walk import walk

    records = list(walk(folder))
    started = time.perf_counter()
    found, stats = probe.probe_records(str(folder), records)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "files": len(records),
                "seconds": seconds,
                "probed": stats.probed,
                "failed": stats.failed,
                "details": sum(1 for p in found.values() if getattr(p, "details", None)),
                "audio": sum(1 for p in found.values() if getattr(p, "audio", None)),
            }
        )
    )


def measure(tree: Path, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(folder)],
        env=benchlib.child_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jpegs", type=int, default=100_000)
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", default="main", help="the commit to compare with")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-details"))
    parser.add_argument("--quick", action="store_true", help="2,000 JPEGs, 300 songs, 1 run")
    parser.add_argument("--keep", action="store_true", help="keep the library for next time")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.quick:
        args.jpegs, args.songs, args.runs = 2_000, 300, 1
    counts = {"jpeg": args.jpegs, "song": args.songs}
    base_rev = subprocess.run(
        ["git", "-C", str(benchlib.REPO), "rev-parse", "--short", args.base],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    trees = {
        "base": benchlib.export_tree(base_rev, args.dir / f"tree-{base_rev}"),
        "this": benchlib.REPO,
    }
    benchlib.log(f"making {counts} under {args.dir}")
    make_library(args.dir, counts)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        k: {"base": [], "this": []} for k in KINDS
    }
    try:
        for run, name in benchlib.alternating(args.runs):
            for kind in KINDS:
                found = measure(trees[name], args.dir / kind)
                benchlib.log(f"run {run + 1} {name} {kind}: {found}")
                results[kind][name].append(found)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    report(results, base_rev, counts, args.runs)
    if args.json:
        args.json.write_text(
            json.dumps({"base": base_rev, "counts": counts, "results": results}, indent=1)
        )
    return 0


def report(
    results: dict[str, dict[str, list[dict[str, Any]]]],
    base_rev: str,
    counts: dict[str, int],
    runs: int,
) -> None:
    print(
        f"(base {base_rev} against this checkout; median of {runs} run(s) each, "
        f"alternating; warm page cache; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f})\n"
    )
    print(
        "| files | base files/s | this files/s | time per file, this/base | goal ≤ 1.10 |"
        " read by this (details / tags) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    labels = {
        "jpeg": f"{counts['jpeg']:,} JPEGs 640x480 with EXIF",
        "song": f"{counts['song']:,} MP3s 30 s with ID3 tags",
    }
    for kind in KINDS:
        rate = {
            name: statistics.median(r["files"] / r["seconds"] for r in found)
            for name, found in results[kind].items()
        }
        ratio = rate["base"] / rate["this"]
        last = results[kind]["this"][-1]
        read = last["details"] if kind == "jpeg" else last["audio"]
        print(
            f"| {labels[kind]} | {rate['base']:,.0f} | {rate['this']:,.0f} | {ratio:.2f} |"
            f" {'met' if ratio <= GOAL else 'missed'} | {read:,} of {last['files']:,} |"
        )


if __name__ == "__main__":
    sys.exit(main())
