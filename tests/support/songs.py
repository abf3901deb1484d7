"""Real songs: a tone encoded by PyAV (MP3, FLAC, M4A, Ogg Opus), tagged with mutagen."""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

from PIL import Image

# container format, encoder and sample rate of each kind of song made here
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 44100),
    "flac": ("flac", "flac", 44100),
    "m4a": ("ipod", "aac", 44100),
    "ogg": ("ogg", "libopus", 48000),
}


def song_bytes(ext: str = "mp3", seconds: float = 1.0, pitch: float = 440.0) -> bytes:
    """A real, untagged song of ``seconds`` of a quiet tone, in the format of ``ext``."""
    import av
    import numpy as np

    fmt, codec, rate = FORMATS[ext]
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        samples = int(rate * seconds)
        t = np.arange(samples) / rate
        wave = (3000 * np.sin(2 * math.pi * pitch * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return out.getvalue()


def cover_bytes(
    color: tuple[int, int, int], size: tuple[int, int] = (300, 300), fmt: str = "JPEG"
) -> bytes:
    """A real picture of one colour, as a cover."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def tag_song(
    path: Path,
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    covers: list[tuple[int, bytes]] = (),
) -> None:
    """Write tags into the song at ``path`` with mutagen; ``covers``: (picture type, JPEG)."""
    import mutagen
    from mutagen.flac import Picture
    from mutagen.id3 import APIC, TALB, TIT2, TPE1
    from mutagen.mp4 import MP4Cover

    ext = path.suffix.lower().lstrip(".")
    song = mutagen.File(path)
    if song.tags is None:
        song.add_tags()
    text = {"title": title, "artist": artist, "album": album}
    if ext == "mp3":
        for frame, value in ((TIT2, title), (TPE1, artist), (TALB, album)):
            if value is not None:
                song.tags.add(frame(encoding=3, text=value))
        for kind, data in covers:
            song.tags.add(
                APIC(encoding=3, mime="image/jpeg", type=kind, desc=f"c{kind}", data=data)
            )
    elif ext == "m4a":
        for atom, value in zip(("\xa9nam", "\xa9ART", "\xa9alb"), text.values(), strict=True):
            if value is not None:
                song.tags[atom] = [value]
        if covers:
            song.tags["covr"] = [MP4Cover(data, MP4Cover.FORMAT_JPEG) for _, data in covers]
    else:  # Vorbis comments: FLAC keeps pictures in blocks of their own, Ogg in a comment
        for name, value in text.items():
            if value is not None:
                song.tags[name] = [value]
        for kind, data in covers:
            picture = Picture()
            picture.type, picture.mime, picture.data = kind, "image/jpeg", data
            if ext == "flac":
                song.add_picture(picture)
            else:
                song.tags["metadata_block_picture"] = [
                    *song.tags.get("metadata_block_picture", []),
                    base64.b64encode(picture.write()).decode("ascii"),
                ]
    song.save()
