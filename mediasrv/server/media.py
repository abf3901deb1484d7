"""``/media/{path}``: the bytes of an indexed file, with Range, ETag and Last-Modified."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..errors import FileGone, FileNotIndexed
from . import params
from .api import on_disk, report_vanished
from .keys import LIBRARY

routes = web.RouteTableDef()

# A file from the library is data, never a page of ours: an HTML or SVG file
# opened directly must not run scripts with this site's rights, and a link in
# it must not carry a ?token= from its URL to another site in a Referer.
MEDIA_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; media-src 'self'; img-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
}


async def indexed_file(request: web.Request, prefix: str) -> tuple[str, str]:
    """(indexed path, real path) of the file named after ``prefix``, or a 404.

    Only a path of the current index is looked at, and only if it still
    resolves inside the root: ``..``, encoded slashes, absolute paths and
    symlinks leading out never match.
    """
    path = params.tail(request, prefix)
    if "\x00" in path:  # no file name has one; never let it near the filesystem
        raise FileNotIndexed(path)
    async with request.app[LIBRARY].snapshot() as snap:
        await snap.get(path)  # FileNotIndexed -> 404
        real = await asyncio.to_thread(on_disk, request, path)
        if real is None:
            report_vanished(request, snap.generation, path)
            raise FileGone(path)
    return path, real


@routes.get(r"/media/{path:[\s\S]+}")  # a name may hold a newline
async def media(request: web.Request) -> web.StreamResponse:
    _, real = await indexed_file(request, "/media/")
    return web.FileResponse(real, headers=MEDIA_HEADERS)
