"""The pages of the web UI: tags, a tag's grid, the viewer, random, search, and signing in.

Pages: ``/`` (tags), ``/tag/{tag}`` (a grid, paged: ``grid.py``), ``/view/{tag}/{path}``
(one file; with ``?q=`` among the results of that search), ``/random/{tag}``
(a redirect to a random file's view; ``?q=`` too), ``/search?q=``, and
``/signin`` (the access token, when one is set). A tag's grid, viewer and
random take ``?sort=taken`` (newest first; ``name``, the default, is left out
of URLs), and every link they make keeps it. Each page reads everything
it shows from one lease on the current generation. Paths come from the raw
URL, so names that are not valid UTF-8 round-trip byte for byte.
"""

from __future__ import annotations

import asyncio
import hmac
import random
from typing import Any

from aiohttp import web

from ..media.thumbs import ICONS, PREVIEW, Thumbnailer
from ..names import ALL_TAG, display
from ..resources import resource_dir
from ..snapshot import Snapshot
from ..snapshot.base import SORTS
from . import attempts, grid, home, media, middleware, params, render, timeline
from .files import first_existing, on_disk, pick_existing, report_gone
from .frames import FRAMES
from .grid import PAGE_SIZE
from .keys import CACHE, ICON_SVG, LIBRARY, RNG, SETTINGS, THUMBS
from .render import page, quote_segment, search_url, tile, view_url
from .viewer import Place, details, locate

SEARCH_LIMIT = 200  # results a search page shows, and the viewer steps through

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    """Add the pages, /thumb, /preview and /static to ``app``, and the HTML error pages."""
    web_dir = resource_dir("web")
    render.setup(app, web_dir)
    icons = web_dir / "static" / "icons"
    app[ICON_SVG] = {name: (icons / f"{name}.svg").read_bytes() for name in ICONS}
    app[THUMBS] = Thumbnailer(app[CACHE].thumbs)
    app[FRAMES] = {}
    app.router.add_routes(routes)
    app.router.add_routes(grid.routes)
    app.router.add_routes(home.routes)
    app.router.add_routes(media.ui_routes)


# Pictures a browser shows as they are; a preview of the others (TIFF, HEIC, …) is a JPEG.
BROWSER_PICTURES = frozenset(
    ["jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "avif", "bmp", "ico", "svg"])
AS_THEY_ARE = frozenset(["gif", "svg"])  # a JPEG would lose their animation or their lines


def preview_url(file: dict[str, Any]) -> str:
    # The thumbnail's path and version (file_dict's rule), under /preview/: thumb_url is
    # /thumb/… or, on a share's pages, /s/{id}/thumb/….
    return str(file["thumb_url"]).replace("/thumb/", "/preview/", 1)


def picture_url(file: dict[str, Any]) -> str:
    """What the viewer shows of a picture: the file itself if a screen needs no less."""
    ext, width, height = file["ext"], file["width"], file["height"]
    if ext in AS_THEY_ARE or (
        ext in BROWSER_PICTURES and width and height and max(width, height) <= PREVIEW
    ):
        return str(file["url"])
    return preview_url(file)


# -- pages -----------------------------------------------------------------


@routes.get("/view/{rest:.+}")
@page
async def view(request: web.Request) -> web.StreamResponse:
    query = params.query(request)
    q = query.get("q", "").strip() or None
    sort = params.choice(query, "sort", SORTS)  # a search's results keep their own order
    async with request.app[LIBRARY].snapshot() as snap:
        place = await locate(request, snap, q, SEARCH_LIMIT, PAGE_SIZE, sort)
        if isinstance(place, web.StreamResponse):
            return place  # a redirect, or the page of a file that is not in the library
        path = place.file["path"]
        if await asyncio.to_thread(on_disk, request.app, path) is None:
            report_gone(request.app, snap.generation, path)
            return render.missing_file(request, snap, path, place.way_back, gone=True)
        return viewer(request, snap, place)


def viewer(request: web.Request, snap: Snapshot, place: Place) -> web.Response:
    shared = request.get(render.SHARE_MODE) is not None
    file, prev_file, next_file = place.file, place.prev, place.next
    following = None
    if next_file is not None and next_file["kind"] == "image":
        following = picture_url(next_file)
    picture = picture_url(file) if file["kind"] == "image" else None
    return render.render(
        request, "view.html", snap=snap, title=display(file["name"]),
        place=place, file=file, name=display(file["name"]),
        folder=display(file["path"].rpartition("/")[0]),
        picture=picture, preview=preview_url(file), preload=following,
        # zoomed past a preview's pixels, the viewer loads the file itself (if it can show it)
        full=file["url"] if picture and picture != file["url"]
        and file["ext"] in BROWSER_PICTURES else None,
        # a share's recipient is not shown where a photo was taken
        details=details(file, request.app[SETTINGS].map_url, with_place=not shared),
        prev_url=place.link(prev_file) if prev_file else None,
        next_url=place.link(next_file) if next_file else None,
        poster=file["thumb_url"],
        # A share's viewer links to nothing of the owner's: no month of the owner's grid, and
        # no /api/file, which app.js asks after a scan (a share's pages follow no scans).
        month=None if shared else _month_link(place),
        api_file="" if shared else render.with_query(
            "/api/file", path=file["path"], tag=place.tag, sort=render.sort_param(place.sort)),
    )


def _month_link(place: Place) -> dict[str, str] | None:
    """The viewed file's month, a link to it in its tag's grid by date (not for a search)."""
    if place.q is not None:
        return None
    month = timeline.file_month(place.file)
    return {"name": timeline.label(month), "url": render.with_query(
        f"/tag/{quote_segment(place.tag)}", sort="taken",
        month=f"{month // 100:04d}-{month % 100:02d}")}


@routes.get("/random/{tag:.+}")
@page
async def random_view(request: web.Request) -> web.StreamResponse:
    """A random file of the tag, or with ``?q=`` of that search's results, still on disk.

    The pick does not depend on ``?sort=``; the viewer it opens steps in that order.
    """
    tag = params.tail(request, "/random/")
    query = params.query(request)
    q = query.get("q", "").strip() or None
    sort = params.choice(query, "sort", SORTS)
    async with request.app[LIBRARY].snapshot() as snap:
        if q is None:
            tag = await snap.tag_name(tag)
            chosen = await pick_existing(request.app, snap, tag)
        else:
            found = await snap.search(q, SEARCH_LIMIT)
            random.Random(request.app[RNG].random()).shuffle(found)
            pick = await first_existing(request.app, snap, found)
            if pick is None:
                raise web.HTTPFound(search_url(q))
            chosen, tag = pick, ALL_TAG
    raise web.HTTPFound(view_url(tag, chosen, q, sort), headers={"Cache-Control": "no-store"})


@routes.get("/search")
@page
async def search(request: web.Request) -> web.StreamResponse:
    text = params.query(request).get("q", "").strip()
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.search(text, SEARCH_LIMIT + 1) if text else []
        return render.render(
            request, "search.html", snap=snap,
            title=f"Search: {display(text)}" if text else "Search", q=display(text),
            random_url=render.with_query(f"/random/{ALL_TAG}", q=text) if found else None,
            tiles=[tile(f, view_url(ALL_TAG, f, text)) for f in found[:SEARCH_LIMIT]],
            more=len(found) > SEARCH_LIMIT, limit=SEARCH_LIMIT,
        )


# -- signing in (with --token) -------------------------------------------------


def _local(url: str) -> str:
    """``url`` if it is a path of this server, else ``/``: never a way to another site."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url or middleware.SIGN_IN in url:
        return "/"
    return url


@routes.get(middleware.SIGN_IN)
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    next_url = _local(request.query.get("next", "/"))
    token = request.app[SETTINGS].token
    if not token or middleware.signed_in(request, token):
        return _see_other(next_url)
    return render.sign_in(request, 200, next_url=next_url)


def _see_other(url: str) -> web.Response:
    return web.Response(status=303, headers={"Location": url, "Cache-Control": "no-store"})


@routes.post(middleware.SIGN_IN)
async def sign_in(request: web.Request) -> web.StreamResponse:
    """The sign-in form: the right token sets the cookie and goes on to the page asked for."""
    form = await request.post()
    next_url = _local(str(form.get("next", "/")))
    token = request.app[SETTINGS].token
    if not token:
        return _see_other(next_url)
    given = str(form.get("token", "")).strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        if given:  # an empty form is no guess
            attempts.failed(request)
        return render.sign_in(request, 401, wrong=True, next_url=next_url)
    moved = _see_other(next_url)
    middleware.keep_token(moved, request, token)
    return moved
