"""The few EXIF sub-IFD values the probe wants, read straight from the EXIF block.

Pillow's general IFD reader builds an object per entry of the Exif IFD (a
camera writes 40 or more) and costs about half of probing a small photo
(measured: docs/BENCHMARKS.md, "Probing cameras and songs"). The probe wants a
dozen of them (dates, lens, exposure; the GPS position), so ``sub_ifd`` reads
those entries with ``struct`` and falls back to Pillow's reader for anything
that is not plain TIFF data. Values come as Pillow gives them: ASCII as text
(Latin-1, one trailing NUL dropped), SHORT and LONG as ints, RATIONAL as floats
(``nan`` over zero), several values as a tuple.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Collection, Mapping
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
_ASCII, _SHORT, _LONG, _RATIONAL = 2, 3, 4, 5
_SIZES = {_ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8}
MAX_ENTRIES = 1000  # an IFD claiming more is garbage (TIFF files hold a few hundred)


def sub_ifd(exif: Image.Exif, raw: object, tag: int, wanted: Collection[int]) -> Mapping[int, Any]:
    """The ``wanted`` entries of the sub-IFD ``tag`` (EXIF_IFD, GPS_IFD) of ``exif``, whose
    EXIF block is ``raw`` (``im.info["exif"]``); empty when there is none or it is broken."""
    if isinstance(raw, bytes) and tag in exif:  # (else hidden, or none: Pillow knows)
        try:
            return read_ifd(raw, exif[tag], wanted)
        except (KeyError, TypeError, ValueError, struct.error):
            pass  # not plain TIFF data (a container's own prefix): Pillow's reader can tell
    try:
        found = exif.get_ifd(tag)
        return {k: v for k, v in found.items() if k in wanted}
    except Exception as exc:  # whatever a broken IFD makes Pillow raise
        log.debug("unreadable IFD %#x: %s: %s", tag, type(exc).__name__, exc)
        return {}


def read_ifd(raw: bytes, offset: int, wanted: Collection[int]) -> dict[int, Any]:
    """The ``wanted`` entries of the IFD at ``offset`` of the TIFF data in ``raw`` (an
    EXIF block, with or without its ``Exif\\0\\0``); struct.error when it runs past the end,
    KeyError when it is not TIFF data."""
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    if count > MAX_ENTRIES:
        raise ValueError(f"an IFD of {count} entries")
    found: dict[int, Any] = {}
    for at in range(offset + 2, offset + 2 + 12 * count, 12):
        tag, kind, n, value = struct.unpack_from(order + "HHI4s", tiff, at)
        size = _SIZES.get(kind)
        if tag not in wanted or size is None:
            continue
        if n * size > 4:  # the values are elsewhere: the 4 bytes are their offset
            (where,) = struct.unpack(order + "I", value)
            value = tiff[where : where + n * size]
            if len(value) < n * size:
                raise struct.error(f"tag {tag:#x} runs past the end")
        found[tag] = _value(kind, n, value, order)
    return found


def _value(kind: int, n: int, data: bytes, order: str) -> Any:
    if kind == _ASCII:
        text = data[:n]
        return (text[:-1] if text.endswith(b"\x00") else text).decode("latin-1", "replace")
    if kind == _RATIONAL:
        parts = struct.unpack(f"{order}{2 * n}I", data[: 8 * n])
        values: tuple[Any, ...] = tuple(
            parts[i] / parts[i + 1] if parts[i + 1] else math.nan for i in range(0, 2 * n, 2)
        )
    else:
        values = struct.unpack(
            f"{order}{n}{'H' if kind == _SHORT else 'I'}", data[: n * _SIZES[kind]]
        )
    return values[0] if n == 1 else values
