"""Byte routes: files (``/media``), thumbnails (``/thumb``), previews (``/preview``), ``/static``.

``/media/{path}`` is the file itself, with Range, ETag and Last-Modified.
``/thumb/{path}`` is a grid thumbnail (``?w=640`` for high-density screens)
and ``/preview/{path}`` a screen-sized JPEG of a picture, both made on first
request and cached on disk; asked for with the file's current version
(``?v=size-mtime_ns``), they are cached by the browser for good. A song's
thumbnail and preview are its cover art (``media/covers.py``); as a folder
cover may be added beside it later, they are revalidated (ETag) instead.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..errors import BadParameter, FileGone, MediasrvError
from ..media.thumbs import ICONS, PREVIEW, SIZE, SIZE_2X, Thumb, etag
from ..names import kind_of, split_ext
from . import params
from .files import indexed_file
from .keys import ICON_SVG, STATIC, THUMBS

routes = web.RouteTableDef()  # the API's: /media
ui_routes = web.RouteTableDef()  # the web UI's (added with the pages): the rest

FOREVER = "private, max-age=31536000, immutable"
THUMB_EDGES = (SIZE, SIZE_2X)

# A file from the library is data, never a page of ours: an HTML or SVG file
# opened directly must not run scripts with this site's rights, and a link in
# it must not carry a ?token= from its URL to another site in a Referer.
MEDIA_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; media-src 'self'; img-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
}
PICTURE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
}


class Undecodable(MediasrvError):
    """A picture that no decoder here can read: no preview can be made of it."""

    code = "undecodable"
    status = 422

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"this picture cannot be shown: {reason or 'it could not be decoded'}")


@routes.get(r"/media/{path:[\s\S]+}")  # a name may hold a newline
async def media(request: web.Request) -> web.StreamResponse:
    _, real = await indexed_file(request, "/media/")
    return web.FileResponse(real, headers=MEDIA_HEADERS)


async def _picture(request: web.Request, prefix: str, edge: int, *, pictures_only: bool = False,
                   tag: str | None = None) -> tuple[Thumb, dict[str, str]] | web.Response:
    """The picture of the file after ``prefix`` at ``edge``, and its headers; or a 304."""
    path, real = await indexed_file(request, prefix, tag)
    thumbs = request.app[THUMBS]
    kind = kind_of(split_ext(path.rpartition("/")[2])[1])
    if pictures_only and kind not in ("image", "audio"):  # a song's preview is its cover
        raise Undecodable(f"there is no preview of a {kind} file")
    try:
        known = await asyncio.to_thread(thumbs.look_up, path, real, kind, edge)
    except OSError:
        raise FileGone(path) from None  # deleted since indexed_file looked
    # A song's picture may change without the song (a folder cover added): never "for good".
    exact = known.version is not None and params.query(request).get("v") == known.version
    headers = {"ETag": etag(known.key),
               "Cache-Control": FOREVER if exact else "private, no-cache", **PICTURE_HEADERS}
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return known.found or await thumbs.make(known.key, real, kind, edge, known.cover), headers


@ui_routes.get(r"/thumb/{path:[\s\S]+}")  # a name may hold a newline
async def thumb(request: web.Request) -> web.StreamResponse:
    return await thumb_of(request, "/thumb/")


async def thumb_of(request: web.Request, prefix: str,
                   tag: str | None = None) -> web.StreamResponse:
    """A thumbnail of an indexed file (of ``tag``, if given): JPEG when one can be made, else
    a kind icon (SVG)."""
    edge = params.integer(params.query(request), "w", SIZE, low=1, high=SIZE_2X)
    if edge not in THUMB_EDGES:
        raise BadParameter(f"w must be one of {', '.join(map(str, THUMB_EDGES))}, not {edge}")
    found = await _picture(request, prefix, edge, tag=tag)
    if isinstance(found, web.Response):
        return found
    made, headers = found
    if made.jpeg is not None:
        return web.Response(body=made.jpeg, content_type="image/jpeg", headers=headers)
    icon = made.icon if made.icon in ICONS else "other"
    return web.Response(body=request.app[ICON_SVG][icon], content_type="image/svg+xml",
                        headers=headers)


@ui_routes.get(r"/preview/{path:[\s\S]+}")
async def preview(request: web.Request) -> web.StreamResponse:
    return await preview_of(request, "/preview/")


async def preview_of(request: web.Request, prefix: str,
                     tag: str | None = None) -> web.StreamResponse:
    """A picture fitted to a large screen (JPEG); 422 ``undecodable`` saying why if none can be."""
    found = await _picture(request, prefix, PREVIEW, pictures_only=True, tag=tag)
    if isinstance(found, web.Response):
        return found
    made, headers = found
    if made.jpeg is None:
        if made.icon == "audio":
            raise Undecodable("the song has no cover art")
        raise Undecodable(made.reason)
    return web.Response(body=made.jpeg, content_type="image/jpeg", headers=headers)


@ui_routes.get("/static/{name:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    """Files of web/static (and only those): cached for good when asked by version."""
    return static_file(request, request.match_info["name"])


def static_file(request: web.Request, name: str) -> web.StreamResponse:
    found = request.app[STATIC].get(name)
    if found is None:
        raise web.HTTPNotFound()
    path, digest = found
    cache = FOREVER if request.query.get("v") == digest else "no-cache"
    return web.FileResponse(path, headers={"Cache-Control": cache,
                                           "X-Content-Type-Options": "nosniff"})
