"""The watcher: filesystem changes under the root become rescans.

watchfiles' ``watch``, in a thread of its own, groups changes into batches
(it waits until the tree has been quiet for ``STEP_MS``, at most
``DEBOUNCE_MS``); each batch becomes one ``request("watch")`` to the RescanCoordinator, which coalesces them with
every other request. Hidden entries and the cache dir are ignored.

When the watcher cannot run (the inotify watch table is full, a network mount
without notifications, permission denied) the server says so once in the log
and in ``/api/status`` (``watcher.state == "failed"``) and rescans
periodically instead, so the index never silently goes stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from watchfiles import Change, watch

from .names import display
from .server.keys import CACHE, COORDINATOR, SETTINGS, STATUS_EXTRAS

log = logging.getLogger(__name__)

# A change shows up after STEP_MS of quiet; a long burst is cut into batches
# of at most DEBOUNCE_MS, each of which coalesces into at most one queued scan.
DEBOUNCE_MS = 1_600
STEP_MS = 100
# How often the watch comes back with nothing; its first return proves the
# notifier is set up (before it, changes could be missed).
READY_TIMEOUT_MS = 500
# Rescan period when the watcher cannot run and --rescan-interval is 0 or
# longer: a no-change rescan of 100k files costs about a second of one
# low-priority core, so every five minutes is cheap and keeps staleness bounded.
FALLBACK_INTERVAL = 300.0


class ChangeFilter:
    """Keeps changes to visible entries of the root, outside the cache dir."""

    def __init__(self, root: str, ignore: list[str]) -> None:
        self.root = root.rstrip(os.sep) + os.sep
        self.ignore = [p.rstrip(os.sep) for p in ignore]

    def __call__(self, change: Change, path: str) -> bool:
        for folder in self.ignore:
            if path == folder or path.startswith(folder + os.sep):
                return False
        rel = path[len(self.root):] if path.startswith(self.root) else os.path.basename(path)
        return not any(part.startswith(".") for part in rel.split(os.sep) if part)


def setup(app: web.Application, *, fallback_interval: float = FALLBACK_INTERVAL) -> None:
    """Watch the root when ``settings.watch`` is on (a component for create_app)."""
    settings = app[SETTINGS]
    if not settings.watch:
        app[STATUS_EXTRAS]["watcher"] = {"state": "off", "error": None}
        return
    app[STATUS_EXTRAS]["watcher"] = {"state": "starting", "error": None}
    app.cleanup_ctx.append(_watch_ctx(fallback_interval))


def _watch_ctx(fallback_interval: float) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        stop = threading.Event()
        task = asyncio.get_running_loop().create_task(_run(app, stop, fallback_interval))
        yield
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def _run(app: web.Application, stop: threading.Event, fallback_interval: float) -> None:
    """Watch in a thread of its own; batches and the outcome come back to the loop."""
    settings = app[SETTINGS]
    status: dict[str, Any] = app[STATUS_EXTRAS]["watcher"]
    root = os.path.realpath(settings.root)
    keep = ChangeFilter(root, [os.path.realpath(app[CACHE].path)])
    mode = "polling" if settings.force_polling else "watching"
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[BaseException | None] = loop.create_future()

    def batch(changes: set[tuple[Change, str]]) -> None:
        if status["state"] != mode:  # the first return: the notifier is set up
            status.update(state=mode, error=None)
            log.info("watching %s for changes%s", display(root),
                     " (polling)" if settings.force_polling else "")
        if changes:
            log.debug("%d changes, e.g. %s", len(changes), next(iter(changes))[1])
            with contextlib.suppress(RuntimeError):  # shutting down
                app[COORDINATOR].request("watch")

    def end(outcome: BaseException | None) -> None:
        if not ended.done():
            ended.set_result(outcome)

    def blocking() -> None:
        # Not awatch: setting up the notifier walks the whole tree (0.26 s for
        # 100k files in 1,200 folders here) and awatch does that on the event
        # loop, where it would stall every request.
        outcome: BaseException | None = None
        try:
            for changes in watch(
                root, watch_filter=keep, debounce=DEBOUNCE_MS, step=STEP_MS,
                stop_event=stop, rust_timeout=READY_TIMEOUT_MS, yield_on_timeout=True,
                force_polling=settings.force_polling, ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                loop.call_soon_threadsafe(batch, changes)
        except Exception as exc:  # OSError above all: inotify limit, permissions, mounts
            outcome = exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(end, outcome)

    thread = threading.Thread(target=blocking, name="mediasrv-watcher", daemon=True)
    thread.start()
    try:
        outcome = await ended
    except asyncio.CancelledError:
        stop.set()  # the watch notices within STEP_MS
        await asyncio.to_thread(thread.join, 5)
        raise
    if stop.is_set():
        return
    # An error, or the watch ended by itself (the root went away?)
    await _fall_back(app, status, outcome or RuntimeError("the watch ended"), fallback_interval)


async def _fall_back(
    app: web.Application, status: dict[str, Any], exc: BaseException, fallback_interval: float
) -> None:
    """Say once why the watcher stopped, then rescan periodically instead."""
    configured = app[SETTINGS].rescan_interval
    # server/app.py's interval timer already runs when --rescan-interval is set;
    # only add a timer of our own when that one is off or slower.
    covered = 0 < configured <= fallback_interval
    interval = configured if covered else fallback_interval
    error = _describe(exc)
    status.update(state="failed", error=error, fallback_interval_s=interval)
    log.warning("cannot watch %s for changes (%s); rescanning every %gs instead",
                display(str(app[SETTINGS].root)), error, interval)
    if covered:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            app[COORDINATOR].request("interval (watcher failed)")
        except RuntimeError:  # shutting down
            return


def _describe(exc: BaseException) -> str:
    # inotify_add_watch's ENOSPC; watchfiles reports it as notify's MaxFilesWatch
    if isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "MaxFilesWatch" in str(exc)):
        return ("inotify watch limit reached (raise fs.inotify.max_user_watches, "
                "or use --force-polling)")
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, OSError) else text
