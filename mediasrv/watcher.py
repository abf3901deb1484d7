"""The watcher: filesystem changes under the root become rescans.

watchfiles' ``watch`` groups changes into batches (it waits until the tree
has been quiet for ``STEP_MS``, at most ``DEBOUNCE_MS``); each batch becomes
one ``request("watch")`` to the RescanCoordinator, which coalesces them with
every other request. Hidden entries and the cache dir are ignored.

The watch runs in a small process of its own (``python -m mediasrv.watcher``,
one JSON line per batch on stdout): setting up the notifier walks the whole
tree while holding the GIL (0.28 s for 100k files in 1,200 folders here; a
polled network share can take minutes), which in the server's process would
stall every request, whichever thread did it.

When the watcher cannot run (the inotify watch table is full, a network mount
without notifications, permission denied) the server says so once in the log
and in ``/api/status`` (``watcher.state == "failed"``) and rescans
periodically instead, so the index never silently goes stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from watchfiles import Change, watch

from .child import child_env, json_lines
from .names import display

if TYPE_CHECKING:  # the watch process itself needs none of the server
    from aiohttp import web

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


# (root, folders to ignore, force polling) -> the watch process's argv
Command = Callable[[str, list[str], bool], list[str]]


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


def default_command(root: str, ignore: list[str], polling: bool) -> list[str]:
    argv = [sys.executable, "-m", "mediasrv.watcher", root, *ignore]
    return [*argv, "--polling"] if polling else argv


# -- in the server ------------------------------------------------------------


def setup(app: web.Application, *, fallback_interval: float = FALLBACK_INTERVAL,
          command: Command = default_command) -> None:
    """Watch the root when ``settings.watch`` is on (a component for create_app)."""
    from .server.keys import SETTINGS, STATUS_EXTRAS

    if not app[SETTINGS].watch:
        app[STATUS_EXTRAS]["watcher"] = {"state": "off", "error": None}
        return
    app[STATUS_EXTRAS]["watcher"] = {"state": "starting", "error": None}
    app.cleanup_ctx.append(_watch_ctx(fallback_interval, command))


def _watch_ctx(
    fallback_interval: float, command: Command
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(_run(app, fallback_interval, command))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def _run(app: web.Application, fallback_interval: float, command: Command) -> None:
    from .server.keys import CACHE, COORDINATOR, SETTINGS, STATUS_EXTRAS

    settings = app[SETTINGS]
    status: dict[str, Any] = app[STATUS_EXTRAS]["watcher"]
    root = os.path.realpath(settings.root)
    mode = "polling" if settings.force_polling else "watching"
    try:
        proc = await asyncio.create_subprocess_exec(
            *command(root, [os.path.realpath(app[CACHE].path)], settings.force_polling),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=child_env(),
        )
    except OSError as exc:
        await _fall_back(app, status, f"cannot start the watch process: {exc}", fallback_interval)
        return
    error: str | None = None
    try:
        assert proc.stdout is not None
        async for message in json_lines(proc.stdout, "watch process"):
            kind = message.get("type")
            if kind == "ready" and status["state"] != mode:
                status.update(state=mode, error=None)
                log.info("watching %s for changes%s", display(root),
                         " (polling)" if settings.force_polling else "")
            elif kind == "changes":
                log.debug("%s changes, e.g. %s", message.get("count"), message.get("example"))
                with contextlib.suppress(RuntimeError):  # shutting down
                    app[COORDINATOR].request("watch")
            elif kind == "error":
                error = str(message.get("message"))
        code = await proc.wait()
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    await _fall_back(app, status, error or f"the watch process exited with status {code}",
                     fallback_interval)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Closing its stdin tells the watch process to stop; kill it if it lingers."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 2)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def _fall_back(
    app: web.Application, status: dict[str, Any], error: str, fallback_interval: float
) -> None:
    """Say once why the watcher stopped, then rescan periodically instead."""
    from .server.keys import COORDINATOR, SETTINGS

    configured = app[SETTINGS].rescan_interval
    # server/app.py's interval timer already runs when --rescan-interval is set;
    # only add a timer of our own when that one is off or slower.
    covered = 0 < configured <= fallback_interval
    interval = configured if covered else fallback_interval
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


# -- the watch process ----------------------------------------------------------


def describe(exc: BaseException) -> str:
    """Why watching failed, in words a user can act on."""
    # inotify_add_watch's ENOSPC; watchfiles reports it as notify's MaxFilesWatch
    if isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "MaxFilesWatch" in str(exc)):
        return ("inotify watch limit reached (raise fs.inotify.max_user_watches, "
                "or use --force-polling)")
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, OSError) else text


def main(argv: list[str] | None = None) -> int:
    """``python -m mediasrv.watcher ROOT [IGNORE...] [--polling]``: JSON lines till stdin ends."""
    args = sys.argv[1:] if argv is None else argv
    polling = "--polling" in args
    paths = [a for a in args if a != "--polling"]
    if not paths:
        print("usage: python -m mediasrv.watcher ROOT [IGNORE...] [--polling]", file=sys.stderr)
        return 2
    root, ignore = paths[0], paths[1:]
    stop = threading.Event()

    def wait_for_eof() -> None:  # the server closed our stdin, or died
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()

    def emit(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    ready = False
    try:
        for changes in watch(
            root, watch_filter=ChangeFilter(root, ignore), debounce=DEBOUNCE_MS, step=STEP_MS,
            stop_event=stop, rust_timeout=READY_TIMEOUT_MS, yield_on_timeout=True,
            force_polling=polling, ignore_permission_denied=True, raise_interrupt=False,
        ):
            if not ready:
                emit({"type": "ready"})
                ready = True
            if changes:
                example = next(iter(changes))[1]
                emit({"type": "changes", "count": len(changes),
                      "example": example.encode("utf-8", "replace").decode()})
    except BrokenPipeError:  # the server is gone
        return 0
    except Exception as exc:  # OSError above all: inotify limit, permissions, mounts
        emit({"type": "error", "message": describe(exc)})
        return 1
    if not stop.is_set():
        emit({"type": "error", "message": "the watch ended by itself (was the root removed?)"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
