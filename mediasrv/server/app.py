"""The application factory: ``create_app(settings, leader)`` routes requests to the leader."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from ..hosts import HostPolicy, RefusalLog
from ..serve.leader import Leader
from ..settings import Settings
from . import api, attempts, favourites, limits, media, metrics, middleware, openapi, shares, zips
from .httplog import ServerLog
from .keys import CACHE, COORDINATOR, HOSTS, LEADER, LIBRARY, REFUSALS, RNG, SETTINGS

log = logging.getLogger(__name__)

# Optional components (pages, thumbnails) plug in here: each is a function
# that adds its routes and cleanup contexts to the app.
Component = Callable[[web.Application], None]


def create_app(
    settings: Settings,
    leader: Leader,
    *,
    components: list[Component] | None = None,
) -> web.Application:
    """A ready-to-run application for ``settings``, serving what ``leader`` keeps current.

    Handlers reach the library, the cache dir and the rescan coordinator
    (all the leader's) through typed app keys. The leader starts with the
    app (the last published generation is served at once; a leader scans in
    the background, a follower follows) and stops after its components.
    """
    app = web.Application(
        middlewares=[limits.url_length, middleware.security, middleware.errors],
        handler_args={"logger": ServerLog(), "max_line_size": limits.READ_LINE},
    )
    app[SETTINGS] = settings
    app[HOSTS] = HostPolicy(settings.allowed_hosts)
    app[REFUSALS] = RefusalLog()
    app[attempts.ATTEMPTS] = attempts.Attempts(settings.trusted_proxies)
    app[LEADER] = leader
    app[CACHE] = leader.cache
    app[LIBRARY] = leader.library
    app[COORDINATOR] = leader.coordinator
    app[favourites.STARS] = leader.stars
    app[RNG] = random.Random()
    app.router.add_routes(api.routes)
    app.router.add_routes(media.routes)
    app.router.add_routes(openapi.routes)
    app.router.add_routes(favourites.routes)
    app.router.add_routes(zips.routes)
    shares.setup(app, leader.shares)
    metrics.setup(app)
    app.cleanup_ctx.append(_leader_ctx)
    for component in components if components is not None else default_components():
        component(app)
    app.on_shutdown.append(_end_streams)
    return app


def default_components() -> list[Component]:
    """The parts a full server has beyond the API: the web UI.

    Imported here, not at the top, so that tests of the API alone skip
    Jinja's start-up; a UI that fails to import fails the server loudly.
    """
    from .pages import setup as pages_setup
    from .shared import setup as shared_setup
    from .sharedpages import setup as shared_pages_setup
    from .sharespage import setup as shares_page_setup

    return [pages_setup, shared_setup, shared_pages_setup, shares_page_setup]


async def _leader_ctx(app: web.Application) -> AsyncIterator[None]:
    """The leader's parts: up before the first request, down after the components."""
    leader = app[LEADER]
    await leader.start()
    yield
    await leader.close()


async def _end_streams(app: web.Application) -> None:
    """Let open event streams finish, so shutdown does not wait for them; and begin
    stopping the scan and the watcher while responses in flight have their grace."""
    app[LEADER].end_streams()
    app[LEADER].begin_stop()
