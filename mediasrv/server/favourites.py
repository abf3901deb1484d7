"""``PUT`` and ``DELETE /api/favourites?path=P``: star a file, or take its star away.

Writes, so the security middleware holds them to the rules of a rescan (no
foreign ``Origin``, the token when one is set). Reading stars needs nothing
here: every leased snapshot carries them (``starred.py``).
"""

from __future__ import annotations

from aiohttp import web

from ..errors import NotLeader
from ..userdata.starred import Stars
from . import params
from .keys import LIBRARY, SETTINGS

STARS = web.AppKey("stars", Stars)

routes = web.RouteTableDef()


@routes.put("/api/favourites")
async def star(request: web.Request) -> web.Response:
    return await _change(request, on=True)


@routes.delete("/api/favourites")
async def unstar(request: web.Request) -> web.Response:
    return await _change(request, on=False)


async def _change(request: web.Request, *, on: bool) -> web.Response:
    """Every write of a star goes through here (a read-only server refuses it here).

    Only a file of the current index can be starred (else 404); a star can be
    taken away whatever its path, so one left by a file that is gone can go too.
    """
    if request.app[SETTINGS].follow:
        raise NotLeader("this server is a follower: stars are written on the leader")
    path = params.required(params.query(request), "path")
    async with request.app[LIBRARY].snapshot() as snap:
        if on:
            await snap.get(path)
        await request.app[STARS].favourites.star(path, on)
        return web.json_response(
            {"generation": snap.generation, "path": path, "favourite": on},
            headers={"Cache-Control": "no-store"},
        )
