"""What a share link's recipient reaches: everything under ``/s/{id}/``, scoped to one tag.

Here: checking a share as a request arrives, and its bytes,
``/s/{id}/media|thumb|preview/{path}`` (and the pages' scripts and styles,
``/s/static/{name}``). Its pages (grid, viewer, search, random) are
``sharedpages.py``: the owner's pages rendered in share mode
(``render.SHARE_MODE``): no rescan, stars, other tags, status or events, and
every link under the share.

Every request checks the share on arrival (revoked: 404, expired: 410, its
tag gone: 404), then that the file it names belongs to the tag in the
generation it reads; anything else is a 404 that says nothing about what
exists elsewhere. The id is the credential, so these routes skip the token
and Host checks (``middleware.security``; docs/DESIGN.md says why that is safe).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

from aiohttp import web

from ..errors import FileNotIndexed, UnknownTag
from ..names import display
from ..snapshot import Snapshot
from ..userdata.shares import Share, ShareExpired, ShareNotFound, ShareTagGone
from . import attempts, media, middleware, render, zips
from .files import indexed_file
from .keys import LIBRARY, STATIC
from .shares import SHARES

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


def share_not_found(request: web.Request) -> NoReturn:
    """The one answer to an unknown or revoked id. An unknown one is a guess, as a wrong
    token is; a revoked one is not (a page left open on it asks for its thumbnails, and
    the owner revoking a link from the same address must not be made to wait)."""
    if not request.app[SHARES].was_revoked(request.match_info["id"]):
        attempts.failed(request)  # counts as a failed attempt
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
    attempts.refuse_if_waiting(request)  # an address that guessed too often waits, here too
    if share is None:
        share_not_found(request)
    if share.expired(shares.clock()):
        raise ShareExpired()
    mode.update(base=f"/s/{share.id}", tag=display(share.tag), download=share.download,
                zip_url=f"/s/{share.id}/zip" if share.download else None)
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


# -- bytes --------------------------------------------------------------------------


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


@routes.get(ROOT + "/zip")
async def zip_download(request: web.Request) -> web.StreamResponse:
    """The tag as one zip, if the share allows downloads (else 404). Revoked or expired while
    it streams: the member under way is finished, then the connection is closed."""
    share = await opened(request)
    if not share.download:
        raise web.HTTPNotFound(text="this share does not allow downloads")
    shares = request.app[SHARES]
    async with leased(request) as snap:
        await snap.page(share.tag, 0, 1)  # the tag is there (else share_tag_gone)
        plan = await zips.plan_zip(request, snap, share.tag)
    return await zips.send_zip(request, plan, still_allowed=lambda: shares.still_open(share.id))


@routes.get(STATIC_ROOT + "/{name:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    return media.static_file(request, request.match_info["name"])
