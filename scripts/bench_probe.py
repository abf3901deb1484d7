#!/usr/bin/env python3
"""Probing throughput (files/s): real JPEGs, real MP4s, and files that only look like media.

    python scripts/bench_probe.py [--files 2000] [--dir /tmp/bench-probe]

Makes one camera-like JPEG (6000x4000, with EXIF) and one H.264 MP4 (10 s,
1280x720), each linked ``--files`` times under its own folder, plus
``--files`` small text files named ``.jpg`` and ``.mp4`` (what a library of
unreadable media looks like), then runs ``probe.probe_records`` (what a scan
runs, with its default threads) on each folder, three times, and reports
the best run: the page cache is warm, so this is the probers' own cost. The
text files are probed twice: as a scan does now (rejected by their first
bytes), and with that check turned off (every file handed to Pillow or PyAV).
Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import time
from pathlib import Path

from benchlib import camera_jpeg

from mediasrv.scan import probe, sniff
from mediasrv.scan.walk import walk


def h264_mp4() -> bytes:
    import av
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        frame = av.VideoFrame.from_image(Image.new("RGB", (1280, 720), (40, 90, 160)))
        for _ in range(250):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def linked(folder: Path, name: str, data: bytes, count: int) -> None:
    """``count`` names for one file: the probers see ``count`` files, the disk holds one."""
    folder.mkdir(parents=True)
    first = folder / f"0{name}"
    first.write_bytes(data)
    for i in range(1, count):
        os.link(first, folder / f"{i}{name}")


def best_rate(folder: Path, runs: int = 3) -> tuple[float, probe.ProbeStats]:
    records = list(walk(folder))
    best, stats = 0.0, probe.ProbeStats()
    for _ in range(runs):
        started = time.perf_counter()
        _, stats = probe.probe_records(str(folder), records)
        best = max(best, len(records) / (time.perf_counter() - started))
    return best, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-probe"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    n = args.files
    jpeg, mp4 = camera_jpeg(exif_taken="2024:07:14 10:00:00"), h264_mp4()
    linked(args.dir / "jpeg", ".jpg", jpeg, n)
    linked(args.dir / "mp4", ".mp4", mp4, n)
    fakes = args.dir / "fake"
    fakes.mkdir()
    for i in range(n):
        (fakes / f"{i}.{'jpg' if i % 2 else 'mp4'}").write_text(f"not media {i}\n")

    rows = []
    for label, folder in (("JPEG, 6000x4000 (24 MP) with EXIF", "jpeg"),
                          ("MP4, H.264 1280x720 10 s", "mp4"),
                          ("text named .jpg/.mp4: rejected by first bytes", "fake")):
        rate, stats = best_rate(args.dir / folder)
        rows.append((label, rate, stats))
    real_check = sniff.looks_like_media
    sniff.looks_like_media = lambda head: True  # as before the check: every file decoded
    try:
        rate, stats = best_rate(fakes)
        rows.append(("text named .jpg/.mp4: every file handed to Pillow/PyAV", rate, stats))
    finally:
        sniff.looks_like_media = real_check

    print(f"({n:,} files each; JPEG {len(jpeg) / 1e6:.1f} MB, MP4 {len(mp4) / 1e3:.0f} KB; "
          f"warm page cache, best of 3; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f})\n")
    print("| files | probed | not readable | files/s |")
    print("| --- | --- | --- | --- |")
    for label, rate, stats in rows:
        print(f"| {label} | {stats.probed:,} | {stats.failed:,} | {rate:,.0f} |")
    shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
