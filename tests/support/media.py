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
