"""The server's machinery without HTTP: what a leader runs besides answering requests.

A leader scans: ``RescanCoordinator`` runs one scan at a time, the watcher
(``mediasrv/watch/``) asks it for a rescan of what changed, ``RescanTimer``
asks every --rescan-interval seconds (and every ``fallback_interval`` once
the watcher has given up), and the favourites follow the files a scan saw
move. A follower (``serve --follow``) does none of that: ``Follower`` keeps
the library on what the cache dir's ``current.db`` names.

``Leader`` is built by the command line and handed to ``create_app``, which
only routes requests to its parts; ``start`` and ``close`` bring them up and
down in order (the app calls them from one cleanup context).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from ..index.cachedir import CacheDir
from ..names import display
from ..settings import Settings
from ..userdata.favourites import Favourites
from ..userdata.shares import Shares
from ..userdata.starred import Stars
from ..userdata.store import FILE_NAME as USER_FILE
from ..userdata.store import UserStore
from ..watch import watcher as watch
from .coordinator import RescanCoordinator
from .follower import Follower
from .library import Library
from .retries import RETRY_DELAYS
from .scanprocess import Command, default_command
from .status import WatcherStatus, WorkersStatus
from .timer import FALLBACK_INTERVAL, RescanTimer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderOptions:
    """What a leader does beyond its settings: the defaults serve; tests and benchmarks
    change them (a scan process that waits, a watcher that gives up quickly)."""

    startup_scan: bool = True  # scan at start-up (the last published generation serves first)
    scan_command: Command = default_command
    retry_delays: tuple[float, ...] = RETRY_DELAYS  # after a failed scan
    watch_command: watch.Command = watch.default_command
    watch_backoff: float = watch.BACKOFF_S  # the first restart's delay of a failed watch
    watch_max_failures: int = watch.MAX_FAILURES
    fallback_interval: float = FALLBACK_INTERVAL  # rescan period once the watcher gave up


class Leader:
    """The library, its favourites and what keeps the library current: scans or following."""

    def __init__(self, settings: Settings, options: LeaderOptions | None = None) -> None:
        self.settings = settings
        self.options = options = options or LeaderOptions()
        self.cache = CacheDir(settings.resolved_cache_dir())
        user_data = UserStore(self.cache.path / USER_FILE)  # the stars and the share links
        self.stars = Stars(Favourites(user_data))
        self.shares = Shares(user_data)
        # A follower leaves deleting generation files to the leader (serve/follower.py).
        self.library = Library(None if settings.follow else self.cache, view=self.stars.view)
        self.coordinator = RescanCoordinator(
            settings.root, self.cache, self.library, state=settings.state,
            pool_size=settings.pool_size, scan_timeout=settings.scan_timeout,
            command=options.scan_command, retry_delays=options.retry_delays,
            on_moves=self.stars.favourites.follow,
        )
        self.timer = RescanTimer(settings.rescan_interval, options.fallback_interval)
        self.follower: Follower | None = None
        self.watcher: watch.Watcher | None = None
        # The ``watcher`` entry of /api/status: "off" unless this leader watches.
        self.watcher_status = WatcherStatus(state="off", backend=None, error=None, restarts=0,
                                            fallback_interval_s=None)
        # The --workers group this process runs, if it runs one (the command line says).
        self.workers_status: WorkersStatus | None = None
        if settings.follow:
            self.follower = Follower(
                self.cache, self.library, state=settings.state, pool_size=settings.pool_size,
                polling=True if settings.force_polling else None,
                on_swap=self.coordinator.broadcast,
            )
        elif settings.watch:
            self.watcher = watch.Watcher(
                settings.root, ignore=[self.cache.path], polling=settings.force_polling,
                on_changes=self._changed, on_state=self._watch_state,
                command=options.watch_command, backoff=options.watch_backoff,
                max_failures=options.watch_max_failures,
            )
            self._watch_state(self.watcher.status)
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def role(self) -> str:
        return "follower" if self.follower is not None else "leader"

    # -- start and stop ---------------------------------------------------

    async def start(self) -> None:
        """Bring every part up, in order; a part that fails to start stops those before it.
        A leader started already (``mediasrv serve`` starts it before the app) stays so."""
        if self._stack is not None:
            return
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._favourites())
            if self.follower is not None:
                await stack.enter_async_context(self._following(self.follower))
            else:
                await stack.enter_async_context(self._scanning())
                # The backstop for missed events, then the watcher: each asks for rescans.
                timer = self.timer.run(self.coordinator.request)
                await stack.enter_async_context(self._task(timer))
                if self.watcher is not None:
                    await stack.enter_async_context(self._task(self.watcher.run()))
            self._stack = stack.pop_all()

    async def close(self) -> None:
        """Stop the parts in the reverse order: the watcher and the timer first (no more
        rescans are asked for), then scans and the library, the favourites last."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def end_streams(self) -> None:
        """Tell every open event stream to end (at shutdown, before ``close``)."""
        self.coordinator.end_streams()

    def begin_stop(self) -> None:
        """Start stopping the scan and the watcher at once (at shutdown, while responses in
        flight have their grace), so ``close`` finds them stopping or stopped."""
        self.coordinator.begin_close()
        if self.watcher is not None:
            self.watcher.begin_stop()

    @contextlib.asynccontextmanager
    async def _favourites(self) -> AsyncIterator[None]:
        """The user's stars: open before the first scan can move one, closed after the last;
        and the share links. Only a leader creates or upgrades the user database."""
        await asyncio.to_thread(self.cache.ensure)
        await self.stars.favourites.open(upgrade=not self.settings.follow)
        await self.shares.open()
        try:
            yield
        finally:
            await self.stars.favourites.close()

    @contextlib.asynccontextmanager
    async def _scanning(self) -> AsyncIterator[None]:
        """Serve the last published generation at once; scan in the background."""
        try:
            if not await self.coordinator.load_current():
                log.info("no usable index in %s yet; building one", self.cache.path)
            if self.options.startup_scan:
                self.coordinator.request("startup")
            yield
        finally:
            await self.coordinator.close()
            await self.library.close()

    @contextlib.asynccontextmanager
    async def _following(self, follower: Follower) -> AsyncIterator[None]:
        # A follower never scans: its coordinator is shut from the start, so any
        # request for a scan (a vanished file, …) is refused instead of run here.
        await self.coordinator.close()
        try:
            await follower.start()  # a generation already published is served before we listen
            yield
        finally:
            await follower.close()
            await self.library.close()

    @staticmethod
    @contextlib.asynccontextmanager
    async def _task(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
        """Run ``work`` as a task until the context ends; then cancel it and wait."""
        task = asyncio.get_running_loop().create_task(work)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the watcher's link to the coordinator ----------------------------

    def _changed(self, paths: list[str] | None) -> None:
        """A batch of changes: a rescan of those paths (None: of everything)."""
        with contextlib.suppress(RuntimeError):  # shutting down
            self.coordinator.request("watch", paths=paths)

    def _watch_state(self, state: dict[str, Any]) -> None:
        fallback = None
        if state["state"] == "failed":
            fallback = self.timer.watcher_gave_up()
            log.warning("cannot watch %s for changes (%s); rescanning every %gs instead",
                        display(str(self.settings.root)), state["error"], fallback)
        self.watcher_status = WatcherStatus(
            state=state["state"], backend=state["backend"], error=state["error"],
            restarts=state["restarts"], fallback_interval_s=fallback,
        )
