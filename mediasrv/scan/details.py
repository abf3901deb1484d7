"""What a photo or video says about its camera, lens, exposure and place (``Details``).

Read from what the probe has open anyway: a picture's EXIF (IFD0, the Exif
IFD and the GPS IFD, parsed from the header Pillow read), a video's container
metadata (PyAV read it with the container's index). A value that cannot be
read (garbage, a rational over zero, a latitude past the pole) is left out:
it never costs the file its other metadata.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from PIL import Image

from ..index.filerows import Details

log = logging.getLogger(__name__)

MAX_TEXT = 200  # characters kept of a text value (a maker's note is not a model name)

_MAKE, _MODEL = 0x010F, 0x0110  # IFD0
# The Exif IFD: LensModel, FocalLength, FNumber, ExposureTime, ISOSpeedRatings
_LENS, _FOCAL, _F_NUMBER, _EXPOSURE, _ISO = 0xA434, 0x920A, 0x829D, 0x829A, 0x8827
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_LAT_REF, _LAT, _LON_REF, _LON = 1, 2, 3, 4  # in the GPS IFD

# Where phones and cameras put these in a video's metadata (QuickTime keys, then plain).
_VIDEO_MAKE = ("com.apple.quicktime.make", "make", "manufacturer", "com.android.manufacturer")
_VIDEO_MODEL = ("com.apple.quicktime.model", "model", "com.android.model")
_VIDEO_LENS = ("com.apple.quicktime.camera.lens_model",)
_VIDEO_PLACE = ("com.apple.quicktime.location.ISO6709", "location", "location-eng")
# ISO 6709 as phones write it: "+37.7858-122.4064+012.000/" (degrees, then height).
_ISO6709 = re.compile(r"([+-]\d{1,2}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)")


def text(value: object) -> str | None:
    """A text value as shown: NUL padding and runs of spaces gone, valid UTF-8, not empty."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # Lone surrogates (from a broken UTF-16 tag) cannot be stored as TEXT: '?' instead.
    value = " ".join(value.replace("\x00", " ").split()).encode("utf-8", "replace").decode()
    return value[:MAX_TEXT] or None


def positive(value: object) -> float | None:
    """A positive, finite number (a rational, an int, the first of several); else None."""
    if isinstance(value, tuple):
        value = value[0] if value else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def exif_details(exif: Image.Exif) -> Details | None:
    """``image_details`` of a picture's EXIF; a broken sub-IFD leaves what the rest says
    (``get_ifd`` keeps what it parsed: the probe reads the Exif IFD for dates, too)."""
    ifds: list[Mapping[int, Any]] = []
    for ifd in (_EXIF_IFD, _GPS_IFD):
        try:
            ifds.append(exif.get_ifd(ifd) if ifd in exif else {})
        except Exception as exc:  # whatever a broken IFD makes Pillow raise
            log.debug("unreadable IFD %#x: %s: %s", ifd, type(exc).__name__, exc)
            ifds.append({})
    return image_details(exif, *ifds)


def image_details(
    exif: Mapping[int, Any], exif_ifd: Mapping[int, Any], gps_ifd: Mapping[int, Any]
) -> Details | None:
    """The details of a picture from its IFD0, Exif IFD and GPS IFD; None if it states none."""
    iso = positive(exif_ifd.get(_ISO))
    lat = _degrees(gps_ifd.get(_LAT), gps_ifd.get(_LAT_REF), "S", 90)
    lon = _degrees(gps_ifd.get(_LON), gps_ifd.get(_LON_REF), "W", 180)
    found = Details(
        camera_make=text(exif.get(_MAKE)),
        camera_model=text(exif.get(_MODEL)),
        lens=text(exif_ifd.get(_LENS)),
        focal_length_mm=positive(exif_ifd.get(_FOCAL)),
        f_number=positive(exif_ifd.get(_F_NUMBER)),
        exposure_time_s=positive(exif_ifd.get(_EXPOSURE)),
        iso=int(iso) if iso is not None and iso < 1 << 31 else None,
        gps_lat=lat if lon is not None else None,
        gps_lon=lon if lat is not None else None,
    )
    return found if any(v is not None for v in found) else None


def _degrees(dms: object, ref: object, negative: str, limit: int) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) and its N/S or E/W reference."""
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    try:
        d, m, s = (float(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if not math.isfinite(value) or value > limit or min(d, m, s) < 0:
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return round(-value if str(ref).strip().upper() == negative else value, 7)


def video_details(metadata: Mapping[str, str]) -> Details | None:
    """The details a video's container metadata states (a phone's make, model, place)."""
    lat = lon = None
    for key in _VIDEO_PLACE:
        found = _ISO6709.match(metadata.get(key) or "")
        if found:
            lat, lon = float(found.group(1)), float(found.group(2))
            if abs(lat) <= 90 and abs(lon) <= 180:
                break
            lat = lon = None
    details = Details(
        camera_make=_first(metadata, _VIDEO_MAKE),
        camera_model=_first(metadata, _VIDEO_MODEL),
        lens=_first(metadata, _VIDEO_LENS),
        gps_lat=lat,
        gps_lon=lon,
    )
    return details if any(v is not None for v in details) else None


def _first(metadata: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        found = text(metadata.get(key))
        if found is not None:
            return found
    return None
