"""The application factory: ``create_app(settings)`` wires every part together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from ..hosts import HostPolicy, RefusalLog
from ..index.cachedir import CacheDir
from ..names import display
from ..serve.coordinator import RescanCoordinator
from ..serve.library import Library
from ..settings import Settings
from ..userdata.favourites import Favourites
from ..userdata.shares import Shares
from ..userdata.starred import Stars
from ..userdata.store import FILE_NAME as USER_FILE
from ..userdata.store import UserStore
from ..watch.watcher import Watcher
from . import api, attempts, favourites, limits, media, middleware, openapi, shares, zips
from . import following as follow
from .httplog import ServerLog
from .keys import (
    CACHE,
    COORDINATOR,
    HOSTS,
    LIBRARY,
    REFUSALS,
    RNG,
    SETTINGS,
    STATUS_EXTRAS,
    WATCHER,
)

log = logging.getLogger(__name__)

# Optional components (pages, thumbnails) plug in here: each is a function
# that adds its routes and cleanup contexts to the app.
Component = Callable[[web.Application], None]

# Rescan period when the watcher has given up and --rescan-interval is 0 or
# longer: a no-change rescan of 100k files costs about a second of one
# low-priority core, so every five minutes is cheap and keeps staleness bounded.
FALLBACK_INTERVAL = 300.0


def create_app(
    settings: Settings,
    *,
    startup_scan: bool = True,
    components: list[Component] | None = None,
    coordinator_options: dict[str, Any] | None = None,
    watcher_options: dict[str, Any] | None = None,
    fallback_interval: float = FALLBACK_INTERVAL,
) -> web.Application:
    """A ready-to-run application for ``settings``.

    The library, the cache dir and the rescan coordinator are created here
    and reached by handlers through typed app keys. On start-up the last
    published generation is served at once and a scan runs in the background.
    ``watcher_options`` go to the ``Watcher``; ``fallback_interval`` is the
    rescan period once the watcher has given up.
    """
    app = web.Application(
        middlewares=[limits.url_length, middleware.security, middleware.errors],
        handler_args={"logger": ServerLog(), "max_line_size": limits.READ_LINE},
    )
    cache = CacheDir(settings.resolved_cache_dir())
    user_data = UserStore(cache.path / USER_FILE)  # the stars and the shares
    stars = Stars(Favourites(user_data))
    # A follower leaves deleting generation files to the leader (mediasrv.serve.follower).
    library = Library(None if settings.follow else cache, view=stars.view)
    app[SETTINGS] = settings
    app[HOSTS] = HostPolicy(settings.allowed_hosts)
    app[REFUSALS] = RefusalLog()
    app[attempts.ATTEMPTS] = attempts.Attempts(settings.trusted_proxies)
    app[CACHE] = cache
    app[LIBRARY] = library
    app[favourites.STARS] = stars
    app[COORDINATOR] = RescanCoordinator(
        settings.root, cache, library, state=settings.state, pool_size=settings.pool_size,
        scan_timeout=settings.scan_timeout, on_moves=stars.favourites.follow,
        **(coordinator_options or {}),
    )
    app[STATUS_EXTRAS] = {"watcher": _watcher_entry({"state": "off", "backend": None,
                                                      "error": None, "restarts": 0})}
    app[RNG] = random.Random()
    for part in (api, media, openapi, favourites, zips):
        app.router.add_routes(part.routes)
    app.cleanup_ctx.append(_favourites_ctx)
    shares.setup(app, Shares(user_data))  # read after the stars' start made or upgraded it
    if settings.follow:
        follow.setup(app)  # serves what the leader publishes: no scans here, no watcher
    else:
        app[STATUS_EXTRAS]["role"] = "leader"
        app.cleanup_ctx.append(_library_ctx(startup_scan))
        timer = RescanTimer(settings.rescan_interval, fallback_interval)
        app.cleanup_ctx.append(_timer_ctx(timer))
        if settings.watch:
            _wire_watcher(app, timer, watcher_options or {})
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


async def _favourites_ctx(app: web.Application) -> AsyncIterator[None]:
    """The user's stars: open before the first scan can move one, closed after the last."""
    stars = app[favourites.STARS].favourites
    await asyncio.to_thread(app[CACHE].ensure)
    await stars.open(upgrade=not app[SETTINGS].follow)  # only the leader writes the file
    yield
    await stars.close()


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


class RescanTimer:
    """The one interval timer: every --rescan-interval seconds, and at least every
    ``fallback`` seconds once the watcher has given up."""

    def __init__(self, interval: float, fallback: float) -> None:
        self.interval = interval  # 0: never
        self.fallback = fallback
        self.watcher_failed = False
        self._changed = asyncio.Event()

    @property
    def covered(self) -> bool:
        """Whether --rescan-interval alone is at least as frequent as the fallback."""
        return 0 < self.interval <= self.fallback

    @property
    def period(self) -> float | None:
        if self.watcher_failed and not self.covered:
            return self.fallback
        return self.interval or None

    def watcher_gave_up(self) -> float:
        """Rescan at the fallback period from now on; returns the period in force."""
        self.watcher_failed = True
        self._changed.set()
        return self.period or self.fallback

    async def run(self, request: Callable[[str], object]) -> None:
        while True:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), self.period)
            except TimeoutError:
                covered = self.covered or not self.watcher_failed
                with contextlib.suppress(RuntimeError):  # shutting down
                    request("interval" if covered else "interval (watcher failed)")


def _timer_ctx(timer: RescanTimer) -> Callable[[web.Application], AsyncIterator[None]]:
    """Periodic rescans: the backstop for filesystem events that were missed."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(timer.run(app[COORDINATOR].request))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def _watcher_entry(state: dict[str, Any], fallback: float | None = None) -> dict[str, Any]:
    """The ``watcher`` entry of /api/status."""
    return {**state, "fallback_interval_s": fallback}


def _wire_watcher(app: web.Application, timer: RescanTimer, options: dict[str, Any]) -> None:
    """Watch the root: each batch of changes asks for a rescan of those paths."""
    settings = app[SETTINGS]

    def changed(paths: list[str] | None) -> None:
        with contextlib.suppress(RuntimeError):  # shutting down
            app[COORDINATOR].request("watch", paths=paths)

    def report(state: dict[str, Any]) -> None:
        fallback = None
        if state["state"] == "failed":
            fallback = timer.watcher_gave_up()
            log.warning("cannot watch %s for changes (%s); rescanning every %gs instead",
                        display(str(settings.root)), state["error"], fallback)
        app[STATUS_EXTRAS]["watcher"] = _watcher_entry(state, fallback)

    watcher = Watcher(settings.root, ignore=[app[CACHE].path], polling=settings.force_polling,
                      on_changes=changed, on_state=report, **options)
    app[WATCHER] = watcher
    report(watcher.status)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(watcher.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(ctx)


async def _end_streams(app: web.Application) -> None:
    """Let open event streams finish, so shutdown does not wait for them."""
    app[COORDINATOR].end_streams()
