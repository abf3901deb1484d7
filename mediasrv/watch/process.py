"""The watch process: ``python -m mediasrv.watch ROOT [IGNORE...] [--polling]``.

It reports as JSON lines on stdout (``mediasrv.children``: at most
``LINE_LIMIT`` bytes a line, written by ``emit``) and stops when
its stdin ends, that is when the server closes it or dies:

- ``{"type": "ready", "backend": "inotify"}``: every change from now on is reported.
- ``{"type": "changes", "paths": [...], "why": null}``: a batch of changed paths,
  relative to the root, ``/``-separated, each once, sorted; a name that is not
  UTF-8 is its ``os.fsdecode`` string, which ``json.dumps`` writes as ``\\udcXX``
  escapes and ``json.loads`` reads back exactly. ``"paths": null`` means
  "something changed, nobody can say what" (``why`` says why): the kernel's
  queue overflowed, or the batch was too large to be worth naming.
- ``{"type": "error", "message": "..."}``, then exit status 1: the watch ended.

Batches: a change is reported once the tree has been quiet for ``STEP_MS``;
a longer burst is cut every ``DEBOUNCE_MS``. On Linux the notifier is
``inotify.TreeWatch`` (every name carried exactly, reads not even seen);
elsewhere, and with ``--polling``, watchfiles, which ends on any event on a
name that is not UTF-8 (the server then restarts the process).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Collection

from ..children import LINE_LIMIT, LineTooLong, emit, ignore_sigint, json_line

STEP_MS = 100
DEBOUNCE_MS = 1_600
# How often watchfiles comes back with nothing; its first return proves it is set up.
READY_TIMEOUT_MS = 500
# Past this many paths (or this long a line), a batch says "unknown" (null) instead:
# naming 10,000 changes costs ~0.5 MB of JSON, and a change that large is better
# met by a full rescan (a no-change walk of 100k files is ~1 s) than a targeted one.
MAX_PATHS = 10_000

Emit = Callable[[dict[str, object]], None]


def changes_message(paths: Collection[str] | None, *, unknown: str = "events were lost",
                    max_paths: int = MAX_PATHS) -> dict[str, object]:
    """The JSON object for one batch; ``paths`` None: what changed is unknown, ``unknown`` why."""
    why = None if paths is not None else unknown
    if paths is not None and len(paths) > max_paths:
        paths, why = None, f"more than {max_paths:,} paths changed"
    message: dict[str, object] = {
        "type": "changes", "paths": sorted(paths) if paths is not None else None, "why": why,
    }
    if paths is not None:
        try:
            json_line(message)
        except LineTooLong:
            message.update(paths=None, why=f"the changed paths exceed {LINE_LIMIT:,} bytes")
    return message


def describe(exc: BaseException) -> str:
    """Why watching failed, in words a user can act on."""
    # inotify_add_watch's ENOSPC; watchfiles reports it as notify's MaxFilesWatch
    if isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "MaxFilesWatch" in str(exc)):
        return ("inotify watch limit reached (raise fs.inotify.max_user_watches, "
                "or use --force-polling)")
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, OSError) else text


def relative(root: str, path: str) -> str:
    """``path`` (absolute, under ``root``) relative to it, ``/``-separated."""
    rel = path[len(root):].lstrip(os.sep) if path.startswith(root) else os.path.basename(path)
    return rel.replace(os.sep, "/")


class ChangeFilter:
    """Keeps watchfiles' changes to visible entries of the root, outside the cache dir."""

    def __init__(self, root: str, ignore: list[str]) -> None:
        self.root = root.rstrip(os.sep) + os.sep
        self.ignore = [p.rstrip(os.sep) for p in ignore]

    def __call__(self, change: object, path: str) -> bool:
        for folder in self.ignore:
            if path == folder or path.startswith(folder + os.sep):
                return False
        rel = path[len(self.root):] if path.startswith(self.root) else os.path.basename(path)
        return not any(part.startswith(".") for part in rel.split(os.sep) if part)


# -- the notifiers -------------------------------------------------------------


def watch_inotify(root: str, ignore: list[str], emit: Emit, stdin: int) -> None:
    """Report batches from a TreeWatch until ``stdin`` ends."""
    from .inotify import TreeWatch

    tree = TreeWatch(root, ignore)
    tree.start()
    emit({"type": "ready", "backend": "inotify", "folders": tree.folders})
    poller = select.poll()
    poller.register(tree.fileno(), select.POLLIN)
    poller.register(stdin, select.POLLIN)
    pending: set[str] | None = set()  # None: something changed, what is unknown
    first = last = 0.0  # when the batch's first and latest changes came
    try:
        while True:
            waiting = pending is None or bool(pending)
            due = min(last + STEP_MS / 1000, first + DEBOUNCE_MS / 1000)
            timeout = max(0, round((due - time.monotonic()) * 1000)) if waiting else None
            for fd, _ in poller.poll(timeout):
                if fd == stdin and not os.read(stdin, 1 << 16):
                    return  # the server closed our stdin, or died
            got = tree.read()
            now = time.monotonic()
            if got is None or got:
                first = first if waiting else now
                last = now
                pending = None if got is None or pending is None else pending | got
                waiting = True
            if waiting and now >= min(last + STEP_MS / 1000, first + DEBOUNCE_MS / 1000):
                emit(changes_message(pending, unknown="the kernel's event queue overflowed"))
                pending = set()
    finally:
        tree.close()


def watch_watchfiles(root: str, ignore: list[str], emit: Emit, stdin: int, polling: bool) -> None:
    """Report watchfiles' batches until ``stdin`` ends."""
    from watchfiles import watch

    stop = threading.Event()

    def wait_for_eof() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered
        # reader makes interpreter shutdown abort (_enter_buffered_busy).
        with contextlib.suppress(OSError):
            while os.read(stdin, 1 << 16):
                pass
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    ready = False
    for changes in watch(
        root, watch_filter=ChangeFilter(root, ignore), debounce=DEBOUNCE_MS, step=STEP_MS,
        stop_event=stop, rust_timeout=READY_TIMEOUT_MS, yield_on_timeout=True,
        force_polling=polling, ignore_permission_denied=True, raise_interrupt=False,
    ):
        if not ready:
            emit({"type": "ready", "backend": "polling" if polling else "watchfiles"})
            ready = True
        found = {relative(root, path) for _, path in changes} - {""}  # "": the root itself
        if found:
            emit(changes_message(found))
    if not stop.is_set():
        raise OSError(errno.ENOENT, "the watch ended by itself (was the root removed?)")


def choose_backend(requested: str, polling: bool) -> str:
    if requested != "auto":
        return requested
    if polling or not sys.platform.startswith("linux"):
        return "watchfiles"
    try:
        import inotify_simple  # noqa: F401
    except ImportError:
        return "watchfiles"
    return "inotify"


# -- the process ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediasrv.watch",
                                     description="Report changes under ROOT as JSON lines.")
    parser.add_argument("root")
    parser.add_argument("ignore", nargs="*", help="folders whose changes are not reported")
    parser.add_argument("--polling", action="store_true", help="poll (watchfiles)")
    parser.add_argument("--backend", choices=("auto", "inotify", "watchfiles"), default="auto")
    args = parser.parse_args(argv)
    ignore_sigint()

    def say(message: dict[str, object]) -> None:
        emit(sys.stdout, message)

    root = os.path.realpath(args.root)
    ignore = [os.path.realpath(p) for p in args.ignore]
    stdin = sys.stdin.fileno()
    try:
        if choose_backend(args.backend, args.polling) == "inotify":
            watch_inotify(root, ignore, say, stdin)
        else:
            watch_watchfiles(root, ignore, say, stdin, args.polling)
    except BrokenPipeError:  # the server is gone; nobody reads stdout any more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # OSError above all: watch limit, permissions, the root gone
        with contextlib.suppress(BrokenPipeError):
            say({"type": "error", "message": describe(exc)})
        return 1
    return 0
