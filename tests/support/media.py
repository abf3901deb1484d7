"""Real media bytes: JPEGs (Pillow, with or without Exif dates) and H.264 MP4s (PyAV)."""

from __future__ import annotations

import io

from PIL import Image


def jpeg_bytes(size: tuple[int, int] = (800, 600),
               color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real JPEG of one colour."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


def big_jpeg(size: tuple[int, int] = (3000, 2000)) -> bytes:
    """A real JPEG of a grey gradient, large enough that the viewer shows a smaller copy."""
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def h264_bytes(seconds: float = 2.0, size: tuple[int, int] = (160, 120),
               color: tuple[int, int, int] = (30, 200, 30), fps: int = 10,
               black_intro: int = 0) -> bytes:
    """A real H.264 MP4 (PyAV) of one colour (after ``black_intro`` black frames)."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        frame = np.empty((size[1], size[0], 3), dtype=np.uint8)
        frame[:] = color
        black = np.zeros_like(frame)
        for i in range(int(seconds * fps)):
            pixels = black if i < black_intro else frame
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


# Exif tags of the date taken (the Exif IFD) and of the last change (IFD0).
EXIF_IFD = 0x8769
ORIGINAL, OFFSET_ORIGINAL, SUBSEC_ORIGINAL = 0x9003, 0x9011, 0x9291
EDITED = 0x0132  # IFD0's DateTime: when the file was last changed


def dated(tags: dict[int, str], *, fmt: str = "JPEG", orientation: int | None = None,
          edited: str | None = None) -> bytes:
    """A real 40 x 30 picture whose Exif IFD holds ``tags`` ({tag: text})."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if edited is not None:
        exif[EDITED] = edited
    exif.get_ifd(EXIF_IFD).update(tags)
    out = io.BytesIO()
    # As bytes: PNG's writer drops an Exif whose IFD0 is empty (it tests its truth).
    Image.new("RGB", (40, 30), (90, 120, 30)).save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


# -- a camera's EXIF, and songs with their tags -----------------------------------

CAMERA = {  # what camera_jpeg() states, as file_details holds it
    "camera_make": "Canon", "camera_model": "Canon EOS 5D Mark IV",
    "lens": "EF24-105mm f/4L IS USM", "focal_length_mm": 50.0, "f_number": 4.0,
    "exposure_time_s": 0.004, "iso": 200, "gps_lat": 48.1416667, "gps_lon": -11.5670833,
}


def camera_jpeg(model: str = "Canon EOS 5D Mark IV", *, gps: bool = True,
                size: tuple[int, int] = (40, 30)) -> bytes:
    """A real JPEG whose EXIF names its camera, lens, exposure (1/250 s, f/4, ISO 200, 50 mm)
    and, with ``gps``, its place (48° 8' 30" N, 11° 34' 1.5" W)."""
    from PIL.TiffImagePlugin import IFDRational as R

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", model  # Make, Model
    exif.get_ifd(EXIF_IFD).update({
        0xA434: "EF24-105mm f/4L IS USM", 0x920A: R(50, 1), 0x829D: R(4, 1),
        0x829A: R(1, 250), 0x8827: 200})  # LensModel, FocalLength, FNumber, Exposure, ISO
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (R(48, 1), R(8, 1), R(30, 1)),
                                     3: "W", 4: (R(11, 1), R(34, 1), R(3, 2))})
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


_SOUNDS: dict[str, bytes] = {}  # encoded once per format: tagging is what tests vary


def sound_bytes(fmt: str = "mp3", seconds: float = 0.5) -> bytes:
    """Real silence, encoded by PyAV: ``mp3`` (libmp3lame), ``flac``, ``ogg`` (Opus)."""
    key = f"{fmt}:{seconds}"
    if key not in _SOUNDS:
        import av

        codec, rate = {"mp3": ("libmp3lame", 22050), "flac": ("flac", 22050),
                       "ogg": ("libopus", 48000)}[fmt]
        out = io.BytesIO()
        with av.open(out, mode="w", format=fmt) as container:
            stream = container.add_stream(codec, rate=rate)
            stream.layout = "mono"
            step = 960 if fmt == "ogg" else 1152
            for at in range(0, int(rate * seconds), step):
                frame = av.AudioFrame(format="s16", layout="mono", samples=step)
                frame.planes[0].update(bytes(2 * step))
                frame.sample_rate, frame.pts = rate, at
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        _SOUNDS[key] = out.getvalue()
    return _SOUNDS[key]


def song_bytes(fmt: str = "mp3", seconds: float = 0.5, **tags: str) -> bytes:
    """A real song whose tags (mutagen's easy names: title, artist, album, albumartist,
    tracknumber, discnumber, date, genre) are written by mutagen: ID3 for ``mp3``,
    Vorbis comments for ``flac`` and ``ogg``."""
    import mutagen

    data = io.BytesIO(sound_bytes(fmt, seconds))
    song = mutagen.File(data, easy=True)
    assert song is not None, fmt
    if song.tags is None:
        song.add_tags()
    for key, value in tags.items():
        song.tags[key] = value.split("\0")  # "a\0b": two values
    data.seek(0)
    song.save(data)
    return data.getvalue()
