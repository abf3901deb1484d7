"""A follower in the web layer: rescans asked of it, refused or passed on to the leader.

The following itself (watching the cache dir, swapping) is ``mediasrv/serve/follower.py``,
started and stopped by ``mediasrv/serve/leader.py``.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from ..errors import LeaderUnavailable, NotLeader
from ..names import display
from .keys import CACHE, SETTINGS

log = logging.getLogger(__name__)

# A --workers follower's leader (its private address): rescans asked here are passed on.
LEADER_URL = web.AppKey("leader_url", str)
# What a rescan passed on to the leader carries of the request.
FORWARDED = ("Host", "Origin", "Authorization", "Cookie", "Accept", "Content-Type")


def can_rescan(app: web.Application) -> bool:
    """Whether POST /api/rescan works here: on a leader, and on a --workers follower."""
    return not app[SETTINGS].follow or LEADER_URL in app


async def rescan_elsewhere(request: web.Request) -> web.Response:
    """POST /api/rescan on a follower: passed on to the leader of a --workers group
    (one port, so the kernel chose who got it), refused (409 ``follower``) by any other."""
    leader = request.app.get(LEADER_URL)
    if leader is None:
        raise NotLeader(
            "this server is a follower: it serves what the leader publishes into "
            f"{display(str(request.app[CACHE].path))} and never scans; ask the leader for "
            "a rescan (POST /api/rescan there, or mediasrv scan where it runs)"
        )
    log.info("passing a rescan on to the leader")
    return await pass_on(request, leader)


async def pass_on(request: web.Request, leader: str) -> web.Response:
    """``request`` sent on to ``leader`` (a --workers group's), and its answer."""
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    timeout = aiohttp.ClientTimeout(total=None, connect=5)  # ?wait=1 lasts as long as the scan
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
            request.method, leader.rstrip("/") + request.path_qs, headers=headers,
            data=await request.read(),
        ) as resp:
            body = await resp.read()
            return web.Response(body=body, status=resp.status, headers={
                "Content-Type": resp.headers.get("Content-Type", "application/json"),
                "Cache-Control": "no-store",
            })
    except (aiohttp.ClientError, OSError) as exc:
        raise LeaderUnavailable(f"the leader of this server cannot be reached: {exc}") from None
