"""A share link's pages: the tag's grid, the viewer, a search within the tag, random.

``/s/{id}/`` is the grid (``?sort=taken``, ``?page=``), ``/s/{id}/view/{path}``
the viewer (← → within the tag, slideshow; ``?q=`` among a search's
results), ``/s/{id}/search?q=`` and ``/s/{id}/random``: the owner's templates
rendered in share mode, with every link under the share. Each checks the
share as it arrives (``shared.opened``) and reads one lease, in which the
file it names must belong to the tag.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aiohttp import web

from ..names import display, is_clean
from ..snapshot import Snapshot
from ..snapshot.base import SORTS
from ..userdata.shares import Share
from . import params, render, timeline
from .files import on_disk, pick_existing, report_gone
from .grid import ORDERS, PAGE_SIZE
from .keys import RNG
from .pages import SEARCH_LIMIT, viewer
from .render import page, sort_param, tile, with_query
from .shared import ROOT, leased, opened
from .viewer import Place

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)


# -- URLs of a share's pages -------------------------------------------------------


def scoped(file: dict[str, Any], base: str) -> dict[str, Any]:
    """``file`` with its byte URLs under the share."""
    return {**file, "url": base + file["url"], "thumb_url": base + file["thumb_url"]}


def grid_url(base: str, number: int = 1, sort: str = "name") -> str:
    return with_query(f"{base}/", sort=sort_param(sort),
                      page=None if number == 1 else str(number))


def view_url(base: str, file: dict[str, Any], q: str | None = None, sort: str = "name") -> str:
    quoted = file["url"].removeprefix(base).removeprefix("/media/")
    return with_query(f"{base}/view/{quoted}", q=q, sort=sort_param(sort) if q is None else None)


class SharePlace(Place):
    """A file's place in the shared tag (or a search within it): links stay under the share."""

    base: str = ""

    def __init__(self, base: str, *args: Any) -> None:
        super().__init__(*args)
        object.__setattr__(self, "base", base)

    @property
    def random_url(self) -> str:
        return with_query(f"{self.base}/random", q=self.q,
                          sort=sort_param(self.sort) if self.q is None else None)

    @property
    def way_back(self) -> tuple[str, str]:
        if self.q is not None:
            back = with_query(f"{self.base}/search", q=self.q)
            return back, f"Back to the results for {self.label}"
        return grid_url(self.base, sort=self.sort), f"Back to {self.label}"

    def link(self, other: dict[str, Any]) -> str:
        return view_url(self.base, other, self.q, self.sort)


# -- pages ------------------------------------------------------------------------


@routes.get(ROOT)
async def bare(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    raise web.HTTPFound(f"/s/{share.id}/")


@routes.get(ROOT + "/")
@page
async def grid(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    base, tag = f"/s/{share.id}", share.tag
    query = params.query(request)
    number = params.integer(query, "page", 1, low=1, high=2**31)
    sort = params.choice(query, "sort", SORTS)
    async with leased(request) as snap:
        # By date taken: month headings, without the owner's scrubber (its links are the
        # owner's grid's).
        months = await snap.months(tag) if sort == "taken" else None
        total, files = await snap.page(tag, (number - 1) * PAGE_SIZE, PAGE_SIZE, sort)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if number > pages:
            raise web.HTTPFound(grid_url(base, pages, sort))
        files = [scoped(f, base) for f in files]
        first = (number - 1) * PAGE_SIZE
        tiles = [tile(f, view_url(base, f, sort=sort), star=False) for f in files]
        return render.render(
            request, "grid.html", snap=snap, title=display(tag), tag=display(tag),
            tag_guessed=not is_clean(tag),
            tag_raw_url=grid_url(base, sort=sort), total=total, first=first,
            tiles=tiles, sections=timeline.sections(files, tiles, first, months), years=[],
            month_action="", zip_url=None, page=number, pages=pages, page_size=PAGE_SIZE,
            prev_url=grid_url(base, number - 1, sort) if number > 1 else None,
            next_url=grid_url(base, number + 1, sort) if number < pages else None,
            first_url=grid_url(base, sort=sort), last_url=grid_url(base, pages, sort),
            random_url=with_query(f"{base}/random", sort=sort_param(sort)),
            orders=[{"sort": key, "label": label, "title": title, "current": key == sort,
                     "url": grid_url(base, sort=key)} for key, label, title in ORDERS],
            share_api=None,
        )


@routes.get(ROOT + r"/view/{path:[\s\S]+}")
@page
async def view(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    base = f"/s/{share.id}"
    path = params.tail(request, f"{base}/view/")
    query = params.query(request)
    q = query.get("q", "").strip() or None
    sort = params.choice(query, "sort", SORTS)
    async with leased(request) as snap:
        place = None
        if q is not None:
            place = await _in_search(snap, share, q, path)
        if place is None:
            found = await snap.neighbours(path, share.tag, sort)  # not in the tag: 404
            near = [scoped(f, base) if f else None for f in (found.file, found.prev, found.next)]
            back = grid_url(base, found.position // PAGE_SIZE + 1, sort) + f"#f{found.position}"
            place = SharePlace(base, near[0], share.tag, None, found.position, found.total,
                               near[1], near[2], back, sort)
        if await asyncio.to_thread(on_disk, request.app, path) is None:
            report_gone(request.app, snap.generation, path)
            return render.missing_file(request, snap, path, place.way_back, gone=True)
        return viewer(request, snap, place)


async def _in_search(snap: Snapshot, share: Share, q: str, path: str) -> SharePlace | None:
    """The file among the results of ``q`` in the shared tag; None if it is not one of them."""
    base = f"/s/{share.id}"
    results = [scoped(f, base) for f in await snap.search(q, SEARCH_LIMIT, share.tag)]
    for at, file in enumerate(results):
        if file["path"] == path:
            return SharePlace(base, file, share.tag, q, at, len(results),
                              results[at - 1] if at > 0 else None,
                              results[at + 1] if at + 1 < len(results) else None,
                              with_query(f"{base}/search", q=q) + f"#f{at}")
    return None


@routes.get(ROOT + "/random")
@page
async def random_view(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    base = f"/s/{share.id}"
    query = params.query(request)
    q = query.get("q", "").strip() or None
    sort = params.choice(query, "sort", SORTS)
    async with leased(request) as snap:
        if q is None:
            chosen = await pick_existing(request.app, snap, share.tag)
        else:
            found = await snap.search(q, SEARCH_LIMIT, share.tag)
            if not found:
                raise web.HTTPFound(with_query(f"{base}/search", q=q))
            chosen = found[request.app[RNG].randrange(len(found))]
    raise web.HTTPFound(view_url(base, scoped(chosen, base), q, sort),
                        headers={"Cache-Control": "no-store"})


@routes.get(ROOT + "/search")
@page
async def search(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    base = f"/s/{share.id}"
    text = params.query(request).get("q", "").strip()
    async with leased(request) as snap:
        await snap.page(share.tag, 0, 1)  # the tag is there (else share_tag_gone)
        found = await snap.search(text, SEARCH_LIMIT + 1, share.tag) if text else []
        files = [scoped(f, base) for f in found[:SEARCH_LIMIT]]
        return render.render(
            request, "search.html", snap=snap,
            title=f"Search: {display(text)}" if text else "Search", q=display(text),
            random_url=with_query(f"{base}/random", q=text) if found else None,
            tiles=[tile(f, view_url(base, f, text), star=False) for f in files],
            more=len(found) > SEARCH_LIMIT, limit=SEARCH_LIMIT,
        )

