"""A tag's grid page: ``/tag/{tag}``, paged, by name or with ``?sort=taken`` by date.

By name, the page's tiles are written by SQLite (``tilerows.py``) and put into a
frame rendered once for the tag, its order and its size (``frames.py``); by date,
each file is read for the months' headings and the scrubber.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from aiohttp import web

from ..names import display, is_clean
from ..snapshot import Snapshot
from ..snapshot.base import SORTS
from . import following, frames, params, render, tilerows, timeline
from .frames import Slot
from .keys import LIBRARY
from .render import page, quote_segment, tag_url, tile, view_url

PAGE_SIZE = 60  # tiles per grid page: fills 2..6 columns evenly
# The grid's order switch: each order, what it is called, and what it means.
ORDERS = (
    ("name", "Name", "By name, as the folders list them"),
    ("taken", "Date taken", "By the date taken, newest first"),
)

routes = web.RouteTableDef()


@routes.get("/tag/{tag:.+}")
@page
async def tag_grid(request: web.Request) -> web.StreamResponse:
    """A page of a tag's grid, in natural order or with ``?sort=taken`` newest first (by
    month, with the scrubber; ``?month=YYYY-MM`` goes to the page where that month starts)."""
    tag = params.tail(request, "/tag/")
    query = params.query(request)
    number = params.integer(query, "page", 1, low=1, high=2**31)
    month = query.get("month")
    sort = "taken" if month is not None else params.choice(query, "sort", SORTS)
    async with request.app[LIBRARY].snapshot() as snap:
        name = await snap.tag_name(tag)
        if name != tag:  # another spelling of the tag: the page lives at the shown one
            raise web.HTTPFound(
                f"/tag/{quote_segment(name)}"
                + (f"?{request.query_string}" if request.query_string else "")
            )
        months = await snap.months(tag) if sort == "taken" else None
        if month is not None and months is not None:
            wanted = timeline.month_param(month)
            raise web.HTTPFound(timeline.month_url(tag, months, wanted, PAGE_SIZE))
        if months is None:  # name order: tiles written by SQLite, in a frame made once
            return await _by_name(request, snap, tag, number)
        return await _by_date(request, snap, tag, number, months)


async def _by_name(
    request: web.Request, snap: Snapshot, tag: str, number: int
) -> web.StreamResponse:
    sort = "name"
    total, rendered = await snap.page_rendered(
        tag, (number - 1) * PAGE_SIZE, PAGE_SIZE, sort, tilerows.rendering(tag, sort)
    )
    pages = _pages(tag, number, total, sort)
    # The tiles are ASCII when their names are: encoded as a copy, put in as they are.
    tiles = "".join(text for _, text in rendered).encode("utf-8", "replace")
    prev_url, next_url = _links(tag, number, pages, sort)
    values = {"page": number, "tiles": tiles, "prev_url": prev_url, "next_url": next_url}
    missing = tuple(v is None for v in values.values())  # no tiles, first or last page

    def context() -> dict[str, Any]:  # the frame's (each value a Slot)
        slots = {k: None if v is None else Slot(k) for k, v in values.items()}
        shown: list[Any] = [slots["tiles"]] if tiles else []
        return _context(
            request,
            tag,
            sort,
            total,
            pages,
            years=[],
            tiles=shown,
            sections=timeline.sections([], shown, 0, None),
            page=slots["page"],
            prev_url=slots["prev_url"],
            next_url=slots["next_url"],
        )

    return frames.framed(
        request,
        "grid.html",
        snap,
        (tag, sort, total, *missing),
        context,
        {k: v for k, v in values.items() if v is not None},
    )


async def _by_date(
    request: web.Request, snap: Snapshot, tag: str, number: int, months: list[tuple[int, int]]
) -> web.StreamResponse:
    """By date: the months' headings need each file."""
    sort, first = "taken", (number - 1) * PAGE_SIZE
    total, files = await snap.page(tag, first, PAGE_SIZE, sort)
    pages = _pages(tag, number, total, sort)
    tiles = [tile(f, view_url(tag, f, sort=sort)) for f in files]
    shown_month = timeline.file_month(files[0]) if files else None
    prev_url, next_url = _links(tag, number, pages, sort)
    return render.render(
        request,
        "grid.html",
        snap=snap,
        **_context(
            request,
            tag,
            sort,
            total,
            pages,
            tiles=tiles,
            sections=timeline.sections(files, tiles, first, months),
            years=timeline.scrubber(tag, months, PAGE_SIZE, shown_month),
            page=number,
            prev_url=prev_url,
            next_url=next_url,
        ),
    )


def _pages(tag: str, number: int, total: int, sort: str) -> int:
    """The tag's number of pages; past its last page (the tag shrank since this link was
    made), a redirect to that page."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if number > pages:
        raise web.HTTPFound(tag_url(tag, pages, sort))
    return pages


def _links(tag: str, number: int, pages: int, sort: str) -> tuple[str | None, str | None]:
    """The previous and next pages of page ``number`` of the grid, if there are."""
    first, prefix = _page_urls(tag, sort)
    return (
        (first if number == 2 else f"{prefix}{number - 1}") if number > 1 else None,
        f"{prefix}{number + 1}" if number < pages else None,
    )


@functools.lru_cache(maxsize=64)  # a few tags' grids are browsed at a time
def _page_urls(tag: str, sort: str) -> tuple[str, str]:
    """``tag_url`` of the first page, and of any other without its number: quoting the
    tag (urllib's ``quote``) for each link cost more than the rest of a page's links."""
    return tag_url(tag, 1, sort), render.with_query(
        f"/tag/{quote_segment(tag)}", sort=render.sort_param(sort), page=""
    )


def _context(
    request: web.Request, tag: str, sort: str, total: int, pages: int, **page: Any
) -> dict[str, Any]:
    """What ``grid.html`` shows of the grid of ``tag`` in ``sort`` order, and ``page``'s
    own parts (the tiles, their sections, the scrubber, the page's number and links)."""
    return dict(
        title=display(tag),
        tag=display(tag),
        tag_guessed=not is_clean(tag),
        tag_raw_url=tag_url(tag, sort=sort),
        total=total,
        month_action=f"/tag/{quote_segment(tag)}",
        pages=pages,
        page_size=PAGE_SIZE,
        first_url=tag_url(tag, sort=sort),
        last_url=tag_url(tag, pages, sort),
        random_url=render.with_query(f"/random/{quote_segment(tag)}", sort=render.sort_param(sort)),
        zip_url=render.with_query("/api/zip", tag=tag),
        orders=[
            {
                "sort": key,
                "label": label,
                "title": title,
                "current": key == sort,
                "url": tag_url(tag, sort=key),
            }
            for key, label, title in ORDERS
        ],
        # the Share dialog, where shares can be made (not on a plain follower)
        share_api=render.with_query("/api/shares", tag=tag)
        if following.can_rescan(request.app)
        else None,
        **page,
    )
