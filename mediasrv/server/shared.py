"""What a share link's recipient sees: everything under ``/s/{id}/``, scoped to one tag.

``/s/{id}/`` is the tag's grid (``?sort=taken``, ``?page=``), ``/s/{id}/view/{path}``
the viewer (← → within the tag, slideshow), ``/s/{id}/search?q=`` a search
within the tag, ``/s/{id}/random``, and ``/s/{id}/media|thumb|preview/{path}``
the bytes (the scripts and styles: ``/s/static/{name}``) — the owner's pages,
rendered in share mode (``render.SHARE_MODE``): no rescan, stars, other tags,
status or events, and every link under the share.

Every request checks the share on arrival (revoked: 404, expired: 410, its
tag gone: 404), then that the file it names belongs to the tag in the
generation it reads; anything else is a 404 that says nothing about what
exists elsewhere. The id is the credential, so these routes skip the token
and Host checks (``middleware.security``; docs/DESIGN.md says why that is safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

from aiohttp import web

from ..errors import FileNotIndexed, UnknownTag
from ..names import display
from ..snapshot import Snapshot
from ..snapshot.base import SORTS
from ..userdata.shares import Share, ShareExpired, ShareNotFound, ShareTagGone
from . import media, middleware, params, render
from .files import indexed_file, on_disk, pick_existing, report_gone
from .keys import LIBRARY, RNG, STATIC
from .pages import ORDERS, PAGE_SIZE, SEARCH_LIMIT, tile, viewer
from .render import page, sort_param, with_query
from .shares import SHARES
from .viewer import Place

routes = web.RouteTableDef()
ROOT = "/s/{id}"
# The pages' scripts and styles, the same for every share (and no secret): reached without
# an id, so that a closed link's error page has them too. Never an id: ids are 32 characters.
STATIC_ROOT = "/s/static"


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.on_response_prepare.append(_headers)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer under a share, errors too: not for search engines, no Referer out."""
    if middleware.share_route(request):
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"


def share_not_found() -> NoReturn:
    """The one answer to an unknown or revoked id."""
    # counts as a failed attempt
    raise ShareNotFound()


async def opened(request: web.Request) -> Share:
    """The share a request names, valid now; its pages are rendered in share mode."""
    shares = request.app[SHARES]
    await shares.refresh()  # a follower: the leader may have revoked it a moment ago
    share = shares.find(request.match_info["id"])
    static = request.app.get(STATIC, {})
    mode: dict[str, Any] = {
        "base": None, "tag": "Shared link", "download": False, "zip_url": None,
        "static_url": lambda name: f"{STATIC_ROOT}/{name}?v={static[name][1]}",
    }
    request[render.SHARE_MODE] = mode  # an error page too shows nothing of the owner's
    if share is None:
        share_not_found()
    if share.expired(shares.clock()):
        raise ShareExpired()
    mode.update(base=f"/s/{share.id}", tag=display(share.tag), download=share.download)
    return share


class NotShared(FileNotIndexed):
    """A path that is not a file of the shared tag: the same answer whether or not the
    library has it elsewhere."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.args = (f"no file {path!r} in this share",)


@contextlib.contextmanager
def tag_present() -> Iterator[None]:
    """The shared tag's absence (the only tag a share's queries name) is ``share_tag_gone``;
    a file outside it is ``NotShared``."""
    try:
        yield
    except UnknownTag:
        raise ShareTagGone() from None
    except FileNotIndexed as exc:
        raise NotShared(exc.path) from None


@contextlib.asynccontextmanager
async def leased(request: web.Request) -> AsyncIterator[Snapshot]:
    """A lease on the current generation, for the whole request (``tag_present``)."""
    async with request.app[LIBRARY].snapshot() as snap:
        with tag_present():
            yield snap


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


@routes.get(STATIC_ROOT + "/{name:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    return media.static_file(request, request.match_info["name"])


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
        total, files = await snap.page(tag, (number - 1) * PAGE_SIZE, PAGE_SIZE, sort)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if number > pages:
            raise web.HTTPFound(grid_url(base, pages, sort))
        files = [scoped(f, base) for f in files]
        return render.render(
            request, "grid.html", snap=snap, title=display(tag), tag=display(tag),
            tag_raw_url=grid_url(base, sort=sort), total=total, first=(number - 1) * PAGE_SIZE,
            tiles=[tile(f, view_url(base, f, sort=sort), star=False) for f in files],
            page=number, pages=pages,
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


# -- bytes ------------------------------------------------------------------------


@routes.get(ROOT + r"/media/{path:[\s\S]+}")
async def media_file(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    with tag_present():
        _, real = await indexed_file(request, f"/s/{share.id}/media/", share.tag)
    return web.FileResponse(real, headers=media.MEDIA_HEADERS)


@routes.get(ROOT + r"/thumb/{path:[\s\S]+}")
async def thumb(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    with tag_present():
        return await media.thumb_of(request, f"/s/{share.id}/thumb/", share.tag)


@routes.get(ROOT + r"/preview/{path:[\s\S]+}")
async def preview(request: web.Request) -> web.StreamResponse:
    share = await opened(request)
    with tag_present():
        return await media.preview_of(request, f"/s/{share.id}/preview/", share.tag)
