"""The server's side of the watcher: run the watch process, restart it, give up loudly.

``Watcher`` knows nothing of the web layer. It hands each batch of changed
paths to ``on_changes`` (a list of relative ``/``-separated paths, or None
when what changed is unknown) and each change of its state to ``on_state``.

The watch runs in a process of its own: setting up the notifier walks the
whole tree (0.28 s of held GIL for 100k files in 1,200 folders here; a polled
network share can take minutes), which in the server's process would stall
every request. When that process fails, it is started again after a backoff
(``backoff``, doubling: ``children.backoff``), and once it is ready, one
catch-up (``None``) covers what happened meanwhile. After ``max_failures``
failures within ``window`` seconds the watcher gives up: state ``failed``,
and the server falls back to interval rescans.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..children import backoff, command, exit_reason
from ..children.parent import PIPE, json_lines, spawn, stop
from ..names import display

log = logging.getLogger(__name__)

BACKOFF_S = 1.0  # the first restart's delay; each failure within the window doubles it
MAX_FAILURES = 5
FAILURE_WINDOW_S = 600.0
STOP_TIMEOUT_S = 2.0  # after closing its stdin, how long the process has to exit

# (root, folders to ignore, force polling) -> the watch process's argv
Command = Callable[[str, list[str], bool], list[str]]
OnChanges = Callable[[list[str] | None], None]
OnState = Callable[[dict[str, Any]], None]


def default_command(root: str, ignore: list[str], polling: bool) -> list[str]:
    options = ["--polling"] if polling else []
    return command("watch", *options, "--", root, *ignore)


class Watcher:
    """Reports changes under ``root``, surviving failures of the watch process."""

    def __init__(
        self,
        root: str | Path,
        *,
        on_changes: OnChanges,
        on_state: OnState | None = None,
        ignore: Sequence[str | Path] = (),
        polling: bool = False,
        command: Command = default_command,
        backoff: float = BACKOFF_S,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_S,
    ) -> None:
        self.root = os.path.realpath(os.fsdecode(root))
        self.ignore = [os.path.realpath(os.fsdecode(p)) for p in ignore]
        self.polling = polling
        self._on_changes = on_changes
        self._on_state = on_state
        self._command = command
        self.backoff = backoff
        self.max_failures = max_failures
        self.window = window
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._status: dict[str, Any] = {
            "state": "starting", "backend": None, "error": None, "restarts": 0,
        }

    @property
    def status(self) -> dict[str, Any]:
        """``{state, backend, error, restarts}``: state is starting, watching, polling,
        restarting or failed; error the last failure's cause (None while healthy)."""
        return dict(self._status)

    def _set(self, **changes: Any) -> None:
        self._status.update(changes)
        if self._on_state is not None:
            self._on_state(self.status)

    def _deliver(self, paths: list[str] | None) -> None:
        try:
            self._on_changes(paths)
        except Exception:  # the receiver's failure must not end the watch
            log.exception("the watcher's change callback failed")

    async def run(self) -> None:
        """Watch until cancelled or ``begin_stop``; else returns only after giving up
        (state ``failed``)."""
        loop = asyncio.get_running_loop()
        failures: deque[float] = deque()
        started = 0
        while not self._stopping:
            error = await self._watch_once(catch_up=started > 0)
            if self._stopping:
                return
            started += 1
            now = loop.time()
            failures.append(now)
            while failures[0] < now - self.window:
                failures.popleft()
            if len(failures) >= self.max_failures:
                log.error("the watch of %s failed %d times in %gs (last: %s); giving up",
                          display(self.root), len(failures), self.window, error)
                self._set(state="failed", error=error)
                return
            delay = backoff(self.backoff, len(failures))
            log.warning("the watch of %s stopped (%s); restarting it in %gs",
                        display(self.root), error, delay)
            self._set(state="restarting", error=error, restarts=self._status["restarts"] + 1)
            await asyncio.sleep(delay)

    def begin_stop(self) -> None:
        """Tell the watch process to exit (its stdin ends); ``run`` then returns, restarting
        nothing. A server that is stopping does this while responses have their grace."""
        self._stopping = True
        proc = self.process
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()

    async def _watch_once(self, *, catch_up: bool) -> str:
        """Run one watch process until it ends; returns why it ended."""
        try:
            # the server stops it (ScanProcess.start says why)
            proc = await spawn(self._command(self.root, self.ignore, self.polling), stdout=PIPE,
                               own_group=True)
        except OSError as exc:
            return f"cannot start the watch process: {exc}"
        self.process = proc
        error: str | None = None
        try:
            assert proc.stdout is not None
            async for message in json_lines(proc.stdout, "watch process"):
                kind = message.get("type")
                if kind == "ready":
                    self._set(state="polling" if self.polling else "watching",
                              backend=message.get("backend"), error=None)
                    log.info("watching %s for changes (%s)", display(self.root),
                             message.get("backend"))
                    if catch_up:  # what changed while no watch ran is unknown
                        self._deliver(None)
                elif kind == "changes":
                    paths = message.get("paths")
                    self._deliver(None if paths is None else [str(p) for p in paths])
                elif kind == "error":
                    error = str(message.get("message"))
            code = await proc.wait()
        except ValueError as exc:  # a line beyond LINE_LIMIT: the process misbehaves
            await stop(proc, STOP_TIMEOUT_S)
            return f"the watch process said too much at once ({exc})"
        except asyncio.CancelledError:
            await stop(proc, STOP_TIMEOUT_S)
            raise
        finally:
            self.process = None
        return error or exit_reason("the watch process", code)
