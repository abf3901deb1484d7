#!/usr/bin/env python3
"""Generate a sample media library: a realistic folder shape, real small media files.

    python scripts/make_library.py ~/sample-library              # ~200 real files
    python scripts/make_library.py /tmp/lib100k --files 100000 --empty

By default every picture is a real JPEG or PNG (Pillow), every video a real
H.264 MP4 (PyAV) and every song a real WAV, so thumbnails, players and probes
work on them. ``--empty`` writes zero-byte files instead, for benchmarks where
only names, sizes and times matter and 100k real images would take too long.
The shape is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import struct
import sys
import wave
from pathlib import Path

TOPICS = ["Trips", "Family", "Pets", "Garden", "Concerts", "Projects", "Scans", "Sport"]
PLACES = ["Beach", "Mountains", "City", "Lake", "Forest", "Island", "Desert", "Harbour"]
PEOPLE = ["anna", "ben", "chloe", "dev", "emma", "farid", "grace", "hugo"]
MOODS = ["sunset", "morning", "party", "hike", "picnic", "swim", "dinner", "walk"]
MUSIC = ["Jazz", "Rock", "Classical", "Folk", "Electronic"]


def _image_bytes(rng: random.Random, fmt: str) -> bytes:
    from PIL import Image, ImageDraw

    w, h = rng.choice([(320, 240), (240, 320), (400, 300), (300, 300)])
    img = Image.new("RGB", (w, h), tuple(rng.randrange(40, 220) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = [x0, y0, x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)]
        draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, format=fmt, quality=80) if fmt == "JPEG" else img.save(out, format=fmt)
    return out.getvalue()


def _video_bytes(rng: random.Random, seconds: float = 2.0) -> bytes:
    # Pillow frames, not numpy arrays: `pip install -e .` alone must be enough.
    import av
    from PIL import Image, ImageDraw

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        base = tuple(rng.randrange(256) for _ in range(3))
        bar = tuple(255 - c for c in base)
        for i in range(int(seconds * 10)):
            img = Image.new("RGB", (160, 120), base)
            x = (i * 8) % 160
            ImageDraw.Draw(img).rectangle([x, 0, x + 15, 119], fill=bar)
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _audio_bytes(rng: random.Random, seconds: float = 1.0) -> bytes:
    rate, freq = 8000, rng.choice([220, 330, 440, 550])
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(int(rate * seconds))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def plan(files: int, seed: int) -> list[tuple[str, str]]:
    """(relative path, kind) for ``files`` files in a photo-library shape."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    n = 0
    while n < files:
        topic = rng.choice(TOPICS)
        year = str(rng.randrange(1990, 2027))
        if topic == "Concerts" and rng.random() < 0.5:
            folder = f"Music/{rng.choice(MUSIC)}/{year}"
        else:
            folder = f"{topic}/{year}/{rng.choice(PLACES)}"
        base, k = folder, 1
        while folder in seen:  # each folder is filled once
            k += 1
            folder = f"{base} ({k})"
        seen.add(folder)
        in_folder = min(files - n, rng.randrange(20, 200))
        for i in range(1, in_folder + 1):
            roll = rng.random()
            if folder.startswith("Music"):
                name, kind = f"track{i:02d}.wav", "audio"
            elif roll < 0.06:
                name, kind = f"clip{i}.mp4", "video"
            else:
                ext = "png" if roll < 0.12 else "jpg"
                stem = f"IMG_{i}"
                if rng.random() < 0.3:
                    tags = " ".join(rng.sample(PEOPLE, rng.randrange(1, 3)))
                    stem = f"{rng.choice(MOODS)}{i}[{tags}]"
                name, kind = f"{stem}.{ext}", "image"
            out.append((f"{folder}/{name}", kind))
            n += 1
    return out


def make(root: Path, files: int, seed: int = 1, empty: bool = False) -> int:
    """Write the library under ``root``; returns the number of files written."""
    rng = random.Random(seed + 1)
    cache: dict[str, list[bytes]] = {}
    written = 0
    for rel, kind in plan(files, seed):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if empty:
            data = b""
        else:
            variants = cache.setdefault(kind + path.suffix, [])
            if len(variants) < 12:  # a dozen distinct files per kind is plenty
                if kind == "video":
                    variants.append(_video_bytes(rng))
                elif kind == "audio":
                    variants.append(_audio_bytes(rng))
                else:
                    variants.append(_image_bytes(rng, "PNG" if rel.endswith(".png") else "JPEG"))
            data = rng.choice(variants)
        path.write_bytes(data)
        # Spread modification times over the years of the folder name.
        stamp = 1_200_000_000 + rng.randrange(500_000_000)
        os.utime(path, (stamp, stamp))
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder to create the library in")
    parser.add_argument("--files", type=int, default=200, help="how many files (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--empty", action="store_true", help="zero-byte files (fast, for benchmarks)"
    )
    args = parser.parse_args(argv)
    if args.root.exists() and any(args.root.iterdir()):
        print(f"make_library: {args.root} is not empty; choose a new folder", file=sys.stderr)
        return 1
    n = make(args.root, args.files, args.seed, args.empty)
    print(f"wrote {n} files under {args.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
