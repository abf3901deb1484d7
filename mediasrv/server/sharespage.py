"""``/shares``: the owner's list of share links, each with a revoke button (``shares.js``)."""

from __future__ import annotations

from aiohttp import web

from ..names import display
from . import following, render
from .render import page, tag_url
from .shares import SHARES

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)


@routes.get("/shares")
@page
async def shares_page(request: web.Request) -> web.StreamResponse:
    shares = request.app[SHARES]
    await shares.refresh()
    rows = [{**share.as_dict(), "tag": display(share.tag), "tag_url": tag_url(share.tag),
             "expired": share.expired(shares.clock())} for share in shares.all()]
    return render.render(request, "shares.html", title="Shares", shares=rows,
                         can_write=following.can_rescan(request.app))  # the leader writes
