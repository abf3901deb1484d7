"""The owner's share links: ``POST``, ``GET /api/shares`` and ``DELETE /api/shares/{id}``.

Under /api/, so the security middleware holds them to the owner's rules
(loopback names without a token, else the token; no foreign ``Origin`` for
writes). What a link's recipient sees is ``shared.py``.
"""

from __future__ import annotations

from aiohttp import web

from ..errors import BadParameter, NotLeader
from ..userdata.shares import ShareNotFound, Shares
from . import following, params
from .keys import LIBRARY, SETTINGS

SHARES = web.AppKey("shares", Shares)
MAX_EXPIRES_IN = 100 * 365 * 86400  # a century: beyond it, "never" says it better
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")

routes = web.RouteTableDef()


def setup(app: web.Application, shares: Shares) -> None:
    """The owner's share routes on ``shares`` (the leader's: it opens them at start)."""
    app[SHARES] = shares
    app.router.add_routes(routes)


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def _elsewhere(request: web.Request) -> web.Response | None:
    """On a follower, the leader's answer (a --workers group: the kernel chose who got the
    request) or 409 ``follower``; None on the leader, which writes shares itself."""
    if not request.app[SETTINGS].follow:
        return None
    leader = request.app.get(following.LEADER_URL)
    if leader is None:
        raise NotLeader("this server is a follower: shares are made and revoked on the leader")
    return await following.pass_on(request, leader)


def _flag(query: params.Query, name: str) -> bool:
    value = (query.get(name) or "").lower()
    if value not in YES + NO:
        raise BadParameter(f"{name} must be 1 or 0, not {value[:40]!r}")
    return value in YES


@routes.post("/api/shares")
async def create(request: web.Request) -> web.Response:
    """A new link to ``tag`` (which must be in the library now): 201 with the share."""
    if (answer := await _elsewhere(request)) is not None:
        return answer
    query = params.query(request)
    tag = params.required(query, "tag")
    expires_in = None
    if "expires_in" in query:  # absent: never; empty is not a number (400)
        expires_in = params.integer(query, "expires_in", 0, low=1, high=MAX_EXPIRES_IN)
    download = _flag(query, "download")
    async with request.app[LIBRARY].snapshot() as snap:
        await snap.page(tag, 0, 1)  # UnknownTag -> 404
    share = await request.app[SHARES].create(tag, expires_in, download)
    return _json(share.as_dict(), status=201)


@routes.get("/api/shares")
async def listing(request: web.Request) -> web.Response:
    shares = request.app[SHARES]
    await shares.refresh()
    return _json({"shares": [share.as_dict() for share in shares.all()]})


@routes.delete("/api/shares/{id}")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a share: every URL of its link answers 404 from now on."""
    if (answer := await _elsewhere(request)) is not None:
        return answer
    if not await request.app[SHARES].revoke(request.match_info["id"]):
        raise ShareNotFound()  # the owner's own request: not a guess, counts as nothing
    return web.Response(status=204, headers={"Cache-Control": "no-store"})
