"""Opening pictures: the one place that knows which formats Pillow reads here.

Pillow reads AVIF itself (its wheels carry libavif since 11.3); HEIC and HEIF,
the default of every iPhone, come from the ``pillow-heif`` plugin, which is
registered here once per process before the first picture is opened. Every
reader of pictures (probing, thumbnails, previews) opens them through
``open_image``, so a format added here is read everywhere alike.

Orientation: libheif applies a HEIF file's own rotation (``irot``/``imir``)
while decoding and pillow-heif then sets the EXIF orientation to 1, so
``ImageOps.exif_transpose`` and a probe's "sideways" check are right for HEIC
as for JPEG and AVIF, whose pixels come unrotated with the EXIF tag saying how
to show them.
"""

from __future__ import annotations

import functools
import logging
from typing import IO

from PIL import Image

log = logging.getLogger(__name__)


@functools.cache
def register_formats() -> frozenset[str]:
    """Teach Pillow the extra formats (once per process); returns the extensions it reads.

    Extensions are lower case, without the dot.
    """
    try:
        import pillow_heif
    except ImportError:  # a broken install: every other format still works
        log.warning("pillow-heif is not installed: HEIC and HEIF pictures cannot be read")
    else:
        pillow_heif.register_heif_opener()
    return frozenset(ext.lstrip(".").lower() for ext in Image.registered_extensions())


def open_image(source: str | IO[bytes]) -> Image.Image:
    """``PIL.Image.open`` with every format this server reads; the header only, lazily."""
    register_formats()
    return Image.open(source)
