"""The timeline of a grid in date order: month headings on a page, and the date scrubber.

A month is what ``/api/months`` answers (``index/months.py``): the local
month of the time ``sort=taken`` orders a file by. A page of the grid is cut
into one section per month it shows, each under a heading; the scrubber
lists the tag's years, each with its months, every one a link to the page
holding the month's first file, scrolled to the month's heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadParameter
from ..index.dateorder import sort_time
from ..index.months import month_of
from .render import tag_url

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_MONTH_PARAM = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def label(month: int) -> str:
    """``December 2023`` for 202312."""
    return f"{MONTH_NAMES[month % 100 - 1]} {month // 100}"


def anchor(month: int) -> str:
    """The id of a month's heading on a grid page: ``m-2023-12``."""
    return f"m-{month // 100:04d}-{month % 100:02d}"


def file_month(file: dict[str, Any]) -> int:
    """The month a file stands in, in date order."""
    return month_of(sort_time(file["taken_ns"], file["mtime_ns"]))


@dataclass
class Section:
    """The tiles of one month on a page (``month`` None: the name order has no months)."""

    first: int  # the position in the tag of the section's first tile
    month: int | None = None
    continued: bool = False  # the month began on an earlier page
    tiles: list[dict[str, Any]] = field(default_factory=list)

    @property
    def heading(self) -> str | None:
        return None if self.month is None else label(self.month)

    @property
    def id(self) -> str | None:
        return None if self.month is None or self.continued else anchor(self.month)


def sections(files: list[dict[str, Any]], tiles: list[dict[str, Any]], first: int,
             months: list[tuple[int, int]] | None) -> list[Section]:
    """``tiles`` (of ``files``, from position ``first``) cut by month; one section without
    headings when ``months`` is None (name order)."""
    if months is None:
        return [Section(first, tiles=tiles)]
    starts = set(_offsets(months))
    found: list[Section] = []
    for i, (file, tile) in enumerate(zip(files, tiles, strict=True)):
        month = file_month(file)
        if not found or found[-1].month != month:
            found.append(Section(first + i, month, continued=first + i not in starts))
        found[-1].tiles.append(tile)
    return found


def _offsets(months: list[tuple[int, int]]) -> list[int]:
    at, out = 0, []
    for _, count in months:
        out.append(at)
        at += count
    return out


def month_param(text: str) -> int:
    """``YYYY-MM`` as 202312; BadParameter otherwise."""
    match = _MONTH_PARAM.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise BadParameter(f"month must be a month as YYYY-MM, not {shown!r}")
    return int(match[1]) * 100 + int(match[2])


def month_url(tag: str, months: list[tuple[int, int]], month: int, page_size: int) -> str:
    """The grid page holding the first file of ``month`` (or of the newest month before it,
    or the oldest), at the month's heading."""
    offsets = _offsets(months)
    at = next((i for i, (m, _) in enumerate(months) if m <= month), len(months) - 1)
    if at < 0:
        return tag_url(tag, sort="taken")
    page = offsets[at] // page_size + 1
    return f"{tag_url(tag, page, 'taken')}#{anchor(months[at][0])}"


def scrubber(tag: str, months: list[tuple[int, int]], page_size: int,
             current: int | None) -> list[dict[str, Any]]:
    """Years newest first, each with its months (links); ``current``'s year is open."""
    years: list[dict[str, Any]] = []
    for (month, count), offset in zip(months, _offsets(months), strict=True):
        year = month // 100
        if not years or years[-1]["year"] != year:
            years.append({"year": year, "count": 0, "months": [],
                          "open": current is not None and current // 100 == year})
        page = offset // page_size + 1
        years[-1]["count"] += count
        years[-1]["months"].append({
            "value": f"{year:04d}-{month % 100:02d}", "short": MONTH_NAMES[month % 100 - 1][:3],
            "name": label(month), "count": count, "current": month == current,
            "url": f"{tag_url(tag, page, 'taken')}#{anchor(month)}",
        })
    return years
