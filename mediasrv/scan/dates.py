"""When a photo or video was taken, from the text its file states it in.

Pure functions, no I/O; the probe (``probe.py``) hands them what it read.
Each returns ns since the Unix epoch, UTC, or None for a time that is
missing, blank, zero, garbage or out of range: a file's odd date never
raises (it must not cost the file its size and duration).

- ``exif_time``: EXIF's ``DateTimeOriginal`` style, ``"2021:07:04 18:30:05"``,
  with its ``OffsetTime*`` (``"+02:00"``) and ``SubSecTime*`` (``"25"``: .25 s)
  tags. Without a usable offset the time is naive, and is read in the local
  time zone of the process (``datetime.timestamp()`` on a naive datetime,
  which honours ``TZ``), as a camera's clock shows local time.
- ``container_time``: a video container's ISO 8601 ``creation_time``
  (``"2020-02-03T04:05:06.000000Z"``) or QuickTime's
  ``com.apple.quicktime.creationdate`` (``"2024-06-01T14:00:00+0200"``). A
  time without a zone is UTC there (FFmpeg's convention for
  ``creation_time``). The zero epochs of QuickTime/MP4 (1904-01-01) and of
  Unix (1970-01-01), exactly at midnight, are writers' "no date": None.
- ``video_taken``: the one of those a video's container metadata states,
  QuickTime's first (it keeps the local offset).

Times must fit SQLite's INTEGER as ns (years 1677 to 2262); others are None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

_EPOCH = datetime(1970, 1, 1)
_ZERO_DATES = (datetime(1904, 1, 1), _EPOCH)  # QuickTime's epoch, Unix's: "no date"
_ZERO_NS = frozenset((d - _EPOCH) // timedelta(seconds=1) * 1_000_000_000 for d in _ZERO_DATES)
_MIN_NS, _MAX_NS = -(2**63), 2**63 - 1  # what a SQLite INTEGER holds
_STRIP = " \t\r\n\x00"

_ZONE = r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?"
_TIME = r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<frac>\d+))?"
# EXIF's "YYYY:MM:DD HH:MM:SS"; writers that use dashes or slashes, a "T", a
# fraction or a zone in the same text are read too.
_EXIF = re.compile(r"(?P<y>\d{4})[:/-](?P<mo>\d{2})[:/-](?P<d>\d{2})[ T]" + _TIME + r"\s*" + _ZONE,
                   re.ASCII)
# ISO 8601 with a time of day ("T" or a space between); a date alone is not read.
_ISO = re.compile(r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ T]" + _TIME + r"\s*" + _ZONE, re.ASCII)
_OFFSET = re.compile(_ZONE, re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)


def exif_time(value: object, offset: object = None, subsec: object = None) -> int | None:
    """ns since the epoch (UTC) of an EXIF date such as ``DateTimeOriginal``, or None.

    ``offset`` is its ``OffsetTime*`` tag (``"+02:00"``) and ``subsec`` its
    ``SubSecTime*`` tag (digits of a fraction of a second); either may be
    None, and one that cannot be read is ignored as if absent. Without an
    offset (or one in the date text itself) the time is naive and is read in
    the local time zone of this process. Values may be ``str`` or ``bytes``
    (as Pillow hands them); anything else, a blank or zero date
    (``"0000:00:00 00:00:00"``, ``"    :  :     :  :  "``), garbage or an
    impossible date gives None.
    """
    found = _match(_EXIF, value)
    if found is None:
        return None
    zone = _zone(_match(_OFFSET, offset))
    if zone is None:
        zone = _zone(found)
    fraction = _fraction(_text(subsec))
    if fraction is None:
        fraction = _fraction(found["frac"])
    return _ns(found, zone, fraction or 0)


def container_time(value: object) -> int | None:
    """ns since the epoch (UTC) of a container's ISO 8601 creation time, or None.

    A time without a zone is UTC. None for anything but text with a date and
    a time of day, for an impossible date, and for the zero epochs (QuickTime's
    1904-01-01 and Unix's 1970-01-01 at 00:00:00, in UTC or as wall-clock time).
    """
    found = _match(_ISO, value)
    if found is None or _wall(found) in _ZERO_DATES:
        return None
    zone = _zone(found)
    if zone is None and found["zone"]:
        return None  # an impossible offset ("+25:00"): no telling when that was
    ns = _ns(found, zone or timedelta(0), _fraction(found["frac"]) or 0)
    return None if ns in _ZERO_NS else ns


# Where a video's container states when it was recorded, best first:
# QuickTime's (iPhones) keeps the local offset; creation_time is in UTC.
CREATION_KEYS = ("com.apple.quicktime.creationdate", "creation_time")


def video_taken(metadata: Mapping[str, object]) -> int | None:
    """When a video was taken, from its container's metadata (PyAV's ``container.metadata``)."""
    for key in CREATION_KEYS:
        ns = container_time(metadata.get(key))
        if ns is not None:
            return ns
    return None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip(_STRIP) if isinstance(value, str) else None


def _match(pattern: re.Pattern[str], value: object) -> re.Match[str] | None:
    text = _text(value)
    return pattern.fullmatch(text) if text is not None else None


def _zone(found: re.Match[str] | None) -> timedelta | None:
    """The UTC offset in ``found["zone"]``; None if there is none or it is impossible."""
    text = found["zone"] if found is not None else None
    if not text:
        return None
    if text == "Z":
        return timedelta(0)
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    zone = timedelta(hours=hours, minutes=minutes)
    return -zone if text[0] == "-" else zone


def _fraction(digits: str | None) -> int | None:
    """ns of a fraction of a second given as its digits ("25" is 0.25 s); None if not digits."""
    if not digits or not _DIGITS.fullmatch(digits):
        return None
    return int(digits[:9].ljust(9, "0"))


def _wall(found: re.Match[str]) -> datetime | None:
    """The wall-clock time (whole seconds) in ``found``; None for an impossible one."""
    try:
        year, month, day, hour, minute, second = (
            int(found[k]) for k in ("y", "mo", "d", "h", "mi", "s"))
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # month 0, day 32, hour 24, year 0 ("0000:00:00 00:00:00")
        return None


def _ns(found: re.Match[str], zone: timedelta | None, fraction: int) -> int | None:
    """ns since the epoch of ``found``'s time at UTC offset ``zone`` (None: local time)."""
    wall = _wall(found)
    if wall is None:
        return None
    try:
        if zone is None:
            seconds = round(wall.timestamp())  # naive: this process's local zone
        else:
            seconds = (wall - zone - _EPOCH) // timedelta(seconds=1)
    except (OverflowError, OSError, ValueError):  # years near 1 or 9999
        return None
    ns = seconds * 1_000_000_000 + fraction
    return ns if _MIN_NS <= ns <= _MAX_NS else None
