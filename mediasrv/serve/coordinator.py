"""The RescanCoordinator: the single door to rescans.

Whoever asks (HTTP, the watcher, the interval timer, start-up), one scan runs
at a time, in the scan worker, a separate low-priority process that stays up
between scans (``mediasrv/scan/process.py``; started when first needed, started
again if it died). Requests that arrive while a scan runs coalesce into at most
one follow-up scan, which covers the union of the paths they name (or
everything, if any of them names none). A finished scan's generation is opened
and swapped in; a failed one leaves the current generation serving and says why.
Each scan's state and how events reach subscribers: ``events.py``; what a scan
reported, typed: ``outcome.py``; the retries after a failure: ``retries.py``;
the server's end of the scan process: ``scanprocess.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from ..index import db
from ..index.cachedir import CacheDir
from ..snapshot import Snapshot, open_snapshot
from .events import Broadcaster, Event, Scan
from .library import Library
from .outcome import ScanOutcome
from .partials import Partials
from .retries import RETRY_DELAYS, Retries
from .scanprocess import Command, ScanProcess, default_command

log = logging.getLogger(__name__)

Moves = list[tuple[str, str]]


class RescanCoordinator(Broadcaster):
    """Runs scans one at a time and swaps their generations into the library."""

    def __init__(
        self,
        root: Path,
        cache: CacheDir,
        library: Library,
        *,
        state: str = "sqlite",
        pool_size: int = 3,
        command: Command | None = None,
        scan_timeout: float = 300.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        on_moves: Callable[[Moves], Awaitable[object]] | None = None,
    ) -> None:
        """``on_moves`` is given the files a scan saw move, (old path, new path),
        before its generation is served (favourites follow them)."""
        super().__init__()
        self.root = Path(root)
        self.cache = cache
        self.library = library
        self.state = state
        self.pool_size = pool_size
        self._command = command or default_command
        self._on_moves = on_moves
        self._ids = itertools.count(1)
        self._running: Scan | None = None
        self._next: Scan | None = None
        self._last: Scan | None = None
        self._task: asyncio.Task[None] | None = None
        self._worker: ScanProcess | None = None
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self._verify_task: asyncio.Task[None] | None = None
        self.scans_run = 0
        self.scan_timeout = scan_timeout  # no word from a scan for this long: kill it (0: never)
        self._retries = Retries(retry_delays, self._retry)
        self._partials = Partials(library, self._open)
        # When a scan last finished looking at the library (epoch s), whatever it found.
        self.checked_at: float | None = None
        # Called with each scan that ended, whatever its outcome (metrics count them).
        self.on_finished: list[Callable[[Scan], None]] = []

    # -- asking for scans -------------------------------------------------

    def request(self, reason: str, *, paths: Collection[str] | None = None) -> Scan:
        """Ask for a rescan; returns the scan that will answer it.

        ``paths`` (relative to the root, '/'-separated) narrow it to what
        changed: each is a file or folder, and the scan looks at the folder
        holding it (and at its subtree if it is a folder). None: everything.
        If a scan is already queued, that one answers this request too: it
        will start after everything that happened so far and cover these
        paths as well. A running scan is never changed.
        """
        if self._closed:
            raise RuntimeError("the coordinator is shut down")
        if isinstance(paths, str):
            raise TypeError("paths is a collection of paths, not one path")
        if self._next is not None:
            if reason not in self._next.reasons:
                self._next.reasons.append(reason)
            self._next.cover(paths)
            return self._next
        scan = Scan(next(self._ids), [reason], paths=set())
        scan.cover(paths)
        self._next = scan
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run_queue())
        return scan

    @property
    def running(self) -> Scan | None:
        return self._running

    @property
    def last(self) -> Scan | None:
        return self._last

    @property
    def queued(self) -> Scan | None:
        return self._next

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The scan worker process, while one is up."""
        worker = self._worker
        return worker.proc if worker is not None and worker.alive else None

    # -- events -----------------------------------------------------------

    def _emit(self, event: str, scan: Scan) -> None:
        served = self.library.current
        self.broadcast(Event(event=event, scan=scan.as_dict(), generation=self.library.generation,
                             complete=served.complete if served is not None else None))

    # -- running scans ----------------------------------------------------

    async def _run_queue(self) -> None:
        while self._next is not None and not self._closed:
            scan, self._next = self._next, None
            self._running = scan
            try:
                await self._run(scan)
            finally:
                self._running = None
                self._last = scan
                self.scans_run += 1
                if not self._closed:
                    self._retries.after(scan)
                if scan.status in ("published", "unchanged"):
                    self.checked_at = scan.finished_at
                    log.info("%s", scan.summary())
                for hook in self.on_finished:
                    hook(scan)
                scan.done.set()
            self._emit("failed" if scan.status == "failed" else "finished", scan)

    def _retry(self, owed: Collection[str] | None) -> None:
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self.request("retry after a failed scan", paths=owed)

    async def _run(self, scan: Scan) -> None:
        scan.status, scan.started_at = "running", time.time()
        self._emit("started", scan)
        try:
            try:
                message = await self._scan_in_worker(scan)
            finally:
                await self._partials.settle()  # a part being opened is served (or not) first
            result = ScanOutcome.from_message(message)
            if result.generation != self.library.generation:
                snapshot = await open_snapshot(Path(result.db_path), self.state,
                                               pool_size=self.pool_size)
                await self._follow_moves(result.moves)
                self.library.swap(snapshot)  # and deletes what nobody reads any more
            scan.result = result
            scan.status = result.status
            if result.probe.get("deferred"):
                self.request("probing")  # the first scan published names only
        except asyncio.CancelledError:
            scan.status, scan.error = "failed", "cancelled: the server is shutting down"
            raise
        except Exception as exc:
            scan.status = "failed"
            scan.error = str(exc) or type(exc).__name__
            log.error("scan %d failed: %s; still serving generation %s",
                      scan.id, scan.error, self.library.generation)
            # A killed scan process leaves its temp file; nobody else will. (The
            # fault may be the cache dir itself, read-only say: then there is none.)
            try:
                await asyncio.to_thread(self.cache.remove_temp_files)
            except OSError as cleanup:
                log.warning("cannot clean up after scan %d: %s", scan.id, cleanup)
        finally:
            scan.finished_at = time.time()

    async def _open(self, path: Path) -> Snapshot:
        return await open_snapshot(path, self.state, pool_size=self.pool_size)

    async def _follow_moves(self, moved: Moves) -> None:
        """Tell ``on_moves`` what moved; its failure never keeps a generation from serving."""
        if not moved or self._on_moves is None:
            return
        try:
            await self._on_moves(moved)
        except Exception:
            log.exception("could not carry favourites over to %d moved files", len(moved))

    async def _scan_in_worker(self, scan: Scan) -> dict[str, Any]:
        worker = self._worker
        if worker is None or not worker.alive:
            argv = self._command(self.root, self.cache.path)
            worker = self._worker = await ScanProcess.start(argv)
            log.info("scan process started (pid %d)", worker.pid)

        def progress(message: dict[str, Any]) -> None:
            scan.progressed(message)
            if isinstance(message.get("published"), dict):  # part of a first walk
                self._partials.offer(message["published"])
            self._emit("progress", scan)

        return await worker.scan_watched(scan.id, scan.paths, progress, self.scan_timeout)

    # -- lifecycle --------------------------------------------------------

    async def load_current(self) -> bool:
        """Serve the last published generation, if it is usable. True if one was."""
        found = await asyncio.to_thread(self.cache.repair)
        if found is None:
            return False
        path, _ = found
        snapshot = await open_snapshot(path, self.state, pool_size=self.pool_size)
        self.library.swap(snapshot)
        log.info("serving generation %d (%s) from %s", snapshot.generation, self.state, path.name)
        self._verify_task = asyncio.get_running_loop().create_task(self._verify(path))
        return True

    async def _verify(self, path: Path) -> None:
        """Read every page of the generation served at start-up, in the background.

        Start-up only runs the cheap checks, so that a large library is served
        at once; a corrupt page found here sets the file aside and rebuilds.
        """
        try:
            await asyncio.to_thread(db.validate, path, thorough=True)
        except db.InvalidGeneration as exc:
            log.error("the index being served is damaged (%s); rebuilding it", exc)
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.cache.set_aside, path, str(exc))
            with contextlib.suppress(RuntimeError):
                self.request("damaged index")

    async def wait_idle(self) -> None:
        """Wait until no scan is running or queued."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def begin_close(self) -> asyncio.Task[None]:
        """Start closing (once; later calls return the same task): a server that is
        stopping lets its scan go while responses in flight have their grace."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close())
        return self._closing

    async def close(self) -> None:
        """Stop: abandon a running scan (killing its worker), forget the queue, stop the worker."""
        await asyncio.shield(self.begin_close())

    async def _close(self) -> None:
        self._closed = True
        self._next = None
        self._retries.cancel()
        if self._verify_task is not None:
            self._verify_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._verify_task
        abandoned = self._running is not None
        await self._partials.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._worker is not None:
            await self._worker.stop()
        if abandoned:
            # The killed scan's temp file would wait for the next start-up otherwise.
            try:
                await asyncio.to_thread(self.cache.remove_temp_files, expected=True)
            except OSError as exc:
                log.warning("cannot remove the abandoned scan's temp file: %s", exc)
