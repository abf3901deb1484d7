"""The application factory: ``create_app(settings)`` wires every part together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from ..cache import CacheDir
from ..hosts import HostPolicy, RefusalLog
from ..library import Library
from ..rescan import RescanCoordinator
from ..settings import Settings
from . import api, media, middleware
from .keys import (
    CACHE,
    COORDINATOR,
    HOSTS,
    LIBRARY,
    REFUSALS,
    RNG,
    SETTINGS,
    STATUS_EXTRAS,
)

log = logging.getLogger(__name__)

# Optional components (pages, thumbnails, the watcher) plug in here: each is a
# function that adds its routes and cleanup contexts to the app.
Component = Callable[[web.Application], None]


def create_app(
    settings: Settings,
    *,
    startup_scan: bool = True,
    components: list[Component] | None = None,
    coordinator_options: dict[str, Any] | None = None,
) -> web.Application:
    """A ready-to-run application for ``settings``.

    The library, the cache dir and the rescan coordinator are created here
    and reached by handlers through typed app keys. On start-up the last
    published generation is served at once and a scan runs in the background.
    """
    app = web.Application(middlewares=[middleware.security, middleware.errors])
    cache = CacheDir(settings.resolved_cache_dir())
    library = Library()
    app[SETTINGS] = settings
    app[HOSTS] = HostPolicy(settings.allowed_hosts)
    app[REFUSALS] = RefusalLog()
    app[CACHE] = cache
    app[LIBRARY] = library
    app[COORDINATOR] = RescanCoordinator(
        settings.root, cache, library, state=settings.state, pool_size=settings.pool_size,
        **(coordinator_options or {}),
    )
    app[STATUS_EXTRAS] = {}
    app[RNG] = random.Random()
    app.router.add_routes(api.routes)
    app.router.add_routes(media.routes)
    app.cleanup_ctx.append(_library_ctx(startup_scan))
    if settings.rescan_interval > 0:
        app.cleanup_ctx.append(_interval_ctx)
    for component in components if components is not None else default_components():
        component(app)
    app.on_shutdown.append(_end_streams)
    return app


def default_components() -> list[Component]:
    """The parts a full server has beyond the API (looked up lazily to keep imports light)."""
    found: list[Component] = []
    with contextlib.suppress(ImportError):
        from .pages import setup as pages_setup

        found.append(pages_setup)
    with contextlib.suppress(ImportError):
        from ..watcher import setup as watcher_setup

        found.append(watcher_setup)
    return found


def _library_ctx(startup_scan: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        coordinator = app[COORDINATOR]
        loaded = await coordinator.load_current()
        if not loaded:
            log.info("no usable index in %s yet; building one", app[CACHE].path)
        if startup_scan:
            coordinator.request("startup")
        yield
        await coordinator.close()
        await app[LIBRARY].close()

    return ctx


async def _interval_ctx(app: web.Application) -> AsyncIterator[None]:
    """Periodic rescans: the backstop for filesystem events that were missed."""
    interval = app[SETTINGS].rescan_interval

    async def tick() -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(RuntimeError):
                app[COORDINATOR].request("interval")

    task = asyncio.get_running_loop().create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _end_streams(app: web.Application) -> None:
    """Let open event streams finish, so shutdown does not wait for them."""
    app[COORDINATOR].end_streams()
