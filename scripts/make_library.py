#!/usr/bin/env python3
"""Generate a sample media library: photos, videos and music in a realistic folder shape.

    python scripts/make_library.py ~/mediasrv-sample              # ~200 real files
    python scripts/make_library.py /tmp/lib100k --files 100000 --empty

The sample starts with the files the README's examples name (``Trips/2024/
Beach/a.jpg``, ``sunset[beach family].jpg``, …) in several top folders:
photos with EXIF capture dates (some stored sideways with an EXIF rotation),
a large photo that the viewer shows as a preview, H.264 videos, MP3 songs
(the curated ones tagged with title, artist, album, track, year and genre and
carrying cover art, as a music collection's are), a document and a damaged
picture. More files, to ``--files``, follow in a
generated shape (topics, years, places, bracket tags). Every picture is a real
JPEG or PNG (Pillow), every video a real MP4 and every song a real MP3 (PyAV),
so thumbnails, players and probes work on them. ``--empty`` writes zero-byte
files instead, for benchmarks where only names, sizes and times matter. The
result is the same for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TOPICS = ["Trips", "Family", "Pets", "Garden", "Concerts", "Projects", "Scans", "Sport"]
PLACES = ["Beach", "Mountains", "City", "Lake", "Forest", "Island", "Desert", "Harbour"]
PEOPLE = ["anna", "ben", "chloe", "dev", "emma", "farid", "grace", "hugo"]
MOODS = ["sunset", "morning", "party", "hike", "picnic", "swim", "dinner", "walk"]
MUSIC = ["Jazz", "Rock", "Classical", "Folk", "Electronic"]


@dataclass(frozen=True)
class Item:
    """One file of the sample: where, what, and how to make it."""

    path: str
    kind: str  # photo, video, song, text, damaged
    when: str = "2020-06-01 12:00"  # capture date (EXIF) and modification time
    scene: str = "beach"  # what a photo or video shows
    size: tuple[int, int] = (640, 480)  # pixels as stored
    sideways: bool = False  # stored turned, with EXIF orientation 6 (shown portrait)
    seconds: float = 2.0  # videos and songs


# The files the README's examples and the UI's tests name; the rest is generated.
CURATED = [
    Item("Trips/2024/Beach/a.jpg", "photo", "2024-07-14 10:02", "beach"),
    Item("Trips/2024/Beach/b.jpg", "photo", "2024-07-14 10:05", "beach", sideways=True),
    Item("Trips/2024/Beach/IMG_3.jpg", "photo", "2024-07-14 11:40", "sea"),
    Item("Trips/2024/Beach/IMG_10.jpg", "photo", "2024-07-14 12:15", "sea", sideways=True),
    Item("Trips/2024/Beach/IMG_23.jpg", "photo", "2024-07-14 16:20", "beach"),
    Item("Trips/2024/Beach/panorama.jpg", "photo", "2024-07-14 17:30", "sea", (4000, 3000)),
    Item("Trips/2024/Beach/sunset[beach family].jpg", "photo", "2024-07-14 20:41", "sunset"),
    Item("Trips/2024/Beach/waves.mp4", "video", "2024-07-14 20:45", "sea", (320, 240), 3.0),
    Item("Trips/2024/City/tram.jpg", "photo", "2024-07-16 09:12", "city"),
    Item("Trips/2024/City/sunset rooftops.jpg", "photo", "2024-07-16 20:50", "sunset"),
    Item("Trips/2023/Mountains/hike[anna].jpg", "photo", "2023-09-02 08:30", "mountains"),
    Item("Trips/2023/Mountains/summit.jpg", "photo", "2023-09-02 12:10", "mountains",
         sideways=True),
    Item("Trips/2023/Mountains/sunset[anna ben].jpg", "photo", "2023-09-02 19:58", "sunset"),
    Item("Trips/2023/Mountains/clouds.mp4", "video", "2023-09-02 13:00", "mountains",
         (320, 180), 4.0),
    Item("Family/2022/Birthday/cake[anna ben].jpg", "photo", "2022-03-05 16:00", "party"),
    Item("Family/2022/Birthday/candles.png", "photo", "2022-03-05 16:02", "party", (480, 480)),
    Item("Family/2022/Birthday/song.mp4", "video", "2022-03-05 16:05", "party", (320, 240)),
    Item("Family/2021/Garden/picnic[family].jpg", "photo", "2021-06-20 13:00", "garden"),
    Item("Family/2021/Garden/roses.jpg", "photo", "2021-06-20 13:30", "garden", sideways=True),
    Item("Pets/Rex/rex 1.jpg", "photo", "2023-01-10 10:00", "garden"),
    Item("Pets/Rex/rex 2.jpg", "photo", "2023-01-10 10:01", "garden"),
    Item("Pets/Rex/fetch.mp4", "video", "2023-01-10 10:03", "garden", (320, 240)),
    Item("Pets/Mia/mia[cat].jpg", "photo", "2023-11-30 21:00", "night"),
    Item("Pets/Mia/mia sleeping[cat].jpg", "photo", "2023-12-01 07:30", "night"),
    Item("Music/Jazz/Blue Evening/01 Sunset Groove.mp3", "song", "2019-05-01 12:00",
         seconds=2.61),
    Item("Music/Jazz/Blue Evening/02 Night Walk.mp3", "song", "2019-05-01 12:00", seconds=3.2),
    Item("Music/Folk/Old Roads/01 Morning Song.mp3", "song", "2018-02-01 12:00", seconds=2.0),
    Item("Music/Folk/Old Roads/02 River.mp3", "song", "2018-02-01 12:00", seconds=4.5),
    Item("Documents/packing list.txt", "text", "2024-07-01 09:00"),
    Item("Scans/damaged.jpg", "damaged", "2020-01-15 09:00"),
]

# The curated albums' tags: album folder -> (artist, the cover's scene).
ALBUMS = {"Blue Evening": ("The Harbour Trio", "night"), "Old Roads": ("Mara Lind", "mountains")}

# Sky top, sky bottom, ground, sun (None: no sun) of each scene.
SCENES = {
    "beach": ((70, 140, 220), (170, 210, 240), (225, 200, 140), (255, 240, 170)),
    "sea": ((60, 120, 200), (150, 200, 235), (40, 100, 170), (255, 245, 200)),
    "sunset": ((60, 40, 110), (250, 140, 70), (40, 50, 90), (255, 200, 90)),
    "city": ((120, 150, 190), (200, 210, 225), (90, 90, 100), None),
    "mountains": ((80, 130, 200), (190, 215, 240), (95, 110, 95), (255, 250, 220)),
    "party": ((90, 40, 90), (160, 70, 120), (200, 150, 60), None),
    "garden": ((110, 170, 230), (190, 225, 245), (70, 140, 60), (255, 245, 190)),
    "night": ((10, 15, 40), (40, 50, 90), (30, 35, 45), (230, 230, 210)),
}


def paint(scene: str, size: tuple[int, int], rng: random.Random, t: float = 0.0) -> object:
    """A picture that reads as a photo of ``scene`` at thumbnail size (Pillow image)."""
    from PIL import Image, ImageDraw

    top, bottom, ground, sun = SCENES[scene]
    w, h = size
    horizon = int(h * rng.uniform(0.55, 0.7))
    sky = Image.linear_gradient("L").resize((w, horizon))
    img = Image.new("RGB", (w, h), ground)
    img.paste(Image.composite(Image.new("RGB", (w, horizon), bottom),
                              Image.new("RGB", (w, horizon), top), sky), (0, 0))
    draw = ImageDraw.Draw(img)
    if sun is not None:
        r = h // 10
        x, y = int(w * (0.2 + 0.6 * rng.random() + 0.1 * t)) % w, int(horizon * 0.45)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=sun)
    if scene in ("mountains", "city"):
        step = w // 5
        for i in range(-1, 6):
            peak = horizon - rng.randrange(h // 6, h // 3)
            shade = tuple(max(0, c - rng.randrange(10, 40)) for c in ground)
            if scene == "mountains":
                draw.polygon([(i * step, horizon), (i * step + step, peak),
                              (i * step + 2 * step, horizon)], fill=shade)
            else:
                draw.rectangle([i * step + 6, peak, i * step + step - 6, horizon], fill=shade)
    for _ in range(6):  # things in the foreground
        x, y = rng.randrange(w), rng.randrange(horizon, h)
        r = rng.randrange(h // 40 + 2, h // 12 + 3)
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2],
                     fill=tuple(rng.randrange(40, 250) for _ in range(3)))
    return img


def photo_bytes(item: Item, rng: random.Random) -> bytes:
    """A JPEG (with EXIF date, and orientation when sideways) or a PNG."""
    from PIL import Image

    width, height = item.size if not item.sideways else (item.size[1], item.size[0])
    img = paint(item.scene, (width, height), rng)
    out = io.BytesIO()
    if item.path.endswith(".png"):
        img.save(out, "PNG")
        return out.getvalue()
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x010F] = "mediasrv"  # Make
    exif[0x0110] = "mediasrv sample camera"  # Model
    shot = exif.get_ifd(0x8769)  # what the viewer's details panel shows
    shot[0xA434] = "Sample 24-70mm f/2.8"  # LensModel
    shot[0x920A] = IFDRational(rng.choice([24, 35, 50, 70]))  # FocalLength, mm
    shot[0x829D] = IFDRational(rng.choice([28, 40, 56, 80]), 10)  # FNumber
    shot[0x829A] = IFDRational(1, rng.choice([60, 125, 250, 500]))  # ExposureTime, s
    shot[0x8827] = rng.choice([100, 200, 400, 800])  # ISOSpeedRatings
    taken = datetime.strptime(item.when, "%Y-%m-%d %H:%M").strftime("%Y:%m:%d %H:%M:%S")
    shot[0x9003] = taken  # DateTimeOriginal
    if item.sideways:  # stored turned a quarter left; viewers turn it back (orientation 6)
        img = img.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6
    img.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def video_bytes(item: Item, rng: random.Random) -> bytes:
    """A real H.264 MP4: the scene, with the sun moving across it."""
    # Pillow frames, not numpy arrays: `pip install -e .` alone must be enough.
    import av

    width, height = item.size
    fps = 10
    seed = rng.random()
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(item.seconds * fps)):
            frame = paint(item.scene, (width, height), random.Random(seed), t=i / fps)
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def song_bytes(item: Item, rng: random.Random) -> bytes:
    """A real MP3 (PyAV's LAME): a short tune of ``item.seconds``."""
    import av

    rate = 22050
    notes = [rng.choice([220.0, 247.0, 262.0, 294.0, 330.0, 392.0]) for _ in range(8)]
    samples = int(rate * item.seconds)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        chunk = 1152
        for start in range(0, samples, chunk):
            n = min(chunk, samples - start)
            values = []
            for i in range(start, start + n):
                note = notes[int(i / rate * 2) % len(notes)]
                values.append(int(6000 * math.sin(2 * math.pi * note * i / rate)))
            frame = av.AudioFrame(format="s16", layout="mono", samples=n)
            frame.planes[0].update(b"".join(v.to_bytes(2, "little", signed=True) for v in values))
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    album = item.path.rpartition("/")[0].rpartition("/")[2]
    if album in ALBUMS:
        tag_song(out, item, album)
    return out.getvalue()


def tag_song(out: io.BytesIO, item: Item, album: str) -> None:
    """ID3 tags and a front cover, written with mutagen into the MP3 in ``out``."""
    from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TRCK

    stem = item.path.rpartition("/")[2].rpartition(".")[0]  # "01 Sunset Groove"
    track, _, title = stem.partition(" ")
    artist, scene = ALBUMS[album]
    cover = io.BytesIO()
    paint(scene, (300, 300), random.Random(album)).save(cover, "JPEG", quality=85)
    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TPE1(encoding=3, text=artist))
    tags.add(TALB(encoding=3, text=album))
    tags.add(TRCK(encoding=3, text=str(int(track))))
    tags.add(TDRC(encoding=3, text=item.when[:4]))
    tags.add(TCON(encoding=3, text=item.path.split("/")[1]))  # Music/Jazz/...: Jazz
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover.getvalue()))
    out.seek(0)
    tags.save(out)


def curated_bytes(item: Item, rng: random.Random) -> bytes:
    if item.kind == "photo":
        return photo_bytes(item, rng)
    if item.kind == "video":
        return video_bytes(item, rng)
    if item.kind == "song":
        return song_bytes(item, rng)
    if item.kind == "damaged":  # a JPEG cut short after its header: no decoder can show it
        return photo_bytes(Item(item.path, "photo"), rng)[:600]
    return b"Swimsuit\nSun cream\nCamera\nCharger\n"


def plan(files: int, seed: int) -> list[tuple[str, str]]:
    """(relative path, kind) for ``files`` generated files in a photo-library shape."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = {item.path.rpartition("/")[0] for item in CURATED}
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
                name, kind = f"track{i:02d}.mp3", "audio"
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


def _stamp(when: str) -> int:
    return int(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp())


def _write(path: Path, data: bytes, stamp: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (stamp, stamp))


def make(root: Path, files: int, seed: int = 1, empty: bool = False) -> int:
    """Write the library under ``root``; returns the number of files written."""
    rng = random.Random(seed + 1)
    curated = CURATED[:files]
    for item in curated:
        _write(root / item.path, b"" if empty else curated_bytes(item, rng), _stamp(item.when))
    variants: dict[str, list[bytes]] = {}
    for rel, kind in plan(files - len(curated), seed):
        data = b""
        if not empty:
            pool = variants.setdefault(kind + rel.rpartition(".")[2], [])
            if len(pool) < 12:  # a dozen distinct files per kind is plenty
                year = rel.split("/")[1] if rel.count("/") >= 2 else "2020"
                year = year if year.isdigit() else "2020"
                item = Item(rel, {"image": "photo", "video": "video", "audio": "song"}[kind],
                            f"{year}-06-01 12:00", rng.choice(list(SCENES)),
                            rng.choice([(320, 240), (400, 300), (300, 300)]),
                            sideways=rng.random() < 0.2, seconds=rng.choice([1.5, 2.0, 3.0]))
                pool.append(curated_bytes(item, rng))
            data = rng.choice(pool)
        # Spread modification times over the years.
        _write(root / rel, data, 1_200_000_000 + rng.randrange(500_000_000))
    return len(curated) + max(0, files - len(curated))


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
