"""The RescanCoordinator: the single door to rescans.

Whoever asks (HTTP, the watcher, the interval timer, start-up), one scan runs
at a time, in the scan worker, a separate low-priority process that stays up
between scans (``scanworker.py``; started when first needed, started again if
it died). Requests that arrive while a scan runs coalesce into at most one
follow-up scan, which covers the union of the paths they name (or everything,
if any of them names none). A finished scan's generation is opened and
swapped in; a failed one leaves the current generation serving and says why.
The server's end of the scan process: ``scanclient.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import db
from .cache import CacheDir
from .library import Library
from .scanclient import Command, Worker, default_command
from .snapshot import open_snapshot

log = logging.getLogger(__name__)

Moves = list[tuple[str, str]]

# The most paths one scan carries; a scan asked to look at more walks everything
# (at that point a walk is about as cheap as the lookups, and the list stays small).
MAX_PATHS = 10_000
# After a failed scan, what it was to look at is scanned again after these
# delays (the last one repeats until a scan succeeds): a fault that ends (a
# disk freed, a drive back, a cache dir writable again) ends by itself, and
# no change that the failed scan was to publish is lost. A no-change retry
# costs one walk of the touched folders.
RETRY_DELAYS = (5.0, 30.0, 120.0, 300.0)


class Event(dict[str, Any]):
    """A scan event as every subscriber gets it; ``wire`` is its event-stream form.

    Encoded once, not once per open stream: with a thousand streams that is a
    thousand ``json.dumps`` of the scan fewer per event on the event loop.
    """

    @functools.cached_property
    def wire(self) -> bytes:
        return f"event: {self['event']}\ndata: {json.dumps(self)}\n\n".encode()


@dataclass
class Scan:
    """One scan, from the moment it is asked for until it ends."""

    id: int
    reasons: list[str]
    paths: set[str] | None = None  # what to look at (None: everything)
    status: str = "queued"  # queued, running, published, unchanged, failed
    phase: str | None = None
    files_seen: int = 0
    phase_done: int | None = None  # progress in a phase with a known total (probing)
    phase_total: int | None = None
    queued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_at: float | None = None  # a failed scan: when it is tried again (epoch seconds)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in ("published", "unchanged", "failed")

    def cover(self, paths: Collection[str] | None) -> None:
        """Look at ``paths`` too (None: at everything)."""
        if self.paths is None:
            return
        if paths is None:
            self.paths = None
            return
        self.paths.update(paths)
        if len(self.paths) > MAX_PATHS:
            log.info("scan %d: more than %d paths to look at; walking everything",
                     self.id, MAX_PATHS)
            self.paths = None

    def as_dict(self) -> dict[str, Any]:
        result = self.result or {}
        known = {
            "id": self.id,
            "reasons": list(self.reasons),
            "paths": None if self.paths is None else len(self.paths),
            "status": self.status,
            "phase": self.phase,
            "files_seen": self.files_seen,
            "phase_done": self.phase_done,
            "phase_total": self.phase_total,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "generation": result.get("generation"),
            "files": result.get("files"),
            "added": result.get("added"),
            "removed": result.get("removed"),
            "changed": result.get("changed"),
            # From the (first) request to the new generation being served: what a caller waits.
            "duration_s": (round(self.finished_at - self.queued_at, 3)
                           if self.finished_at is not None else None),
            "scan_s": result.get("duration_s"),  # the scan process's own share of it
            "walk": result.get("walk"),
            "probe": result.get("probe"),
            "mode": result.get("mode"),
            "error": self.error,
            "retry_at": self.retry_at,
        }
        # Whatever else the scan reported (newer keys) is passed on as it is.
        return {**{k: v for k, v in result.items() if k not in known}, **known}


class RescanCoordinator:
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
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._worker: Worker | None = None
        self._closed = False
        self._verify_task: asyncio.Task[None] | None = None
        self.scans_run = 0
        self.scan_timeout = scan_timeout  # no word from a scan for this long: kill it (0: never)
        self.retry_delays = retry_delays
        self._failures = 0  # failed scans in a row
        self._owed: set[str] | None = set()  # what failed scans were to look at (None: all)
        self._retry: asyncio.TimerHandle | None = None
        # When a scan last finished looking at the library (epoch s), whatever it found.
        self.checked_at: float | None = None

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

    def find(self, scan_id: int) -> Scan | None:
        for scan in (self._running, self._next, self._last):
            if scan is not None and scan.id == scan_id:
                return scan
        return None

    # -- events -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of scan events (started, progress, finished, failed)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def _emit(self, event: str, scan: Scan) -> None:
        self.broadcast(
            Event(event=event, scan=scan.as_dict(), generation=self.library.generation)
        )

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send ``message`` (its ``event`` names it) to every subscriber, encoded once."""
        message = message if isinstance(message, Event) else Event(message)
        for queue in list(self._subscribers):
            if queue.full():  # a slow reader loses old progress, never the newest
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    def end_streams(self) -> None:
        """Tell every subscriber to stop (at shutdown)."""
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait({"event": "shutdown"})

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
                    self._plan_retry(scan)
                if scan.status in ("published", "unchanged"):
                    self.checked_at = scan.finished_at
                scan.done.set()
            self._emit("failed" if scan.status == "failed" else "finished", scan)

    def _plan_retry(self, scan: Scan) -> None:
        """After a failure, owe its paths a scan later; a full scan that works pays every debt."""
        if scan.status != "failed":
            self._failures = 0
            if scan.paths is None and self._retry is not None:
                self._retry.cancel()
                self._retry, self._owed = None, set()
            return
        self._failures += 1
        if self._owed is not None:
            if scan.paths is None:
                self._owed = None
            else:
                self._owed.update(scan.paths)
        if not self.retry_delays:
            return
        delay = self.retry_delays[min(self._failures, len(self.retry_delays)) - 1]
        if self._retry is None:
            self._retry = asyncio.get_running_loop().call_later(delay, self._retry_owed)
            scan.retry_at = time.time() + delay
        else:
            scan.retry_at = time.time() + max(0.0, self._retry.when()
                                              - asyncio.get_running_loop().time())
        log.info("scan %d failed; trying again in %.0f s", scan.id, scan.retry_at - time.time())

    def _retry_owed(self) -> None:
        owed, self._owed, self._retry = self._owed, set(), None
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self.request("retry after a failed scan", paths=owed)

    async def _run(self, scan: Scan) -> None:
        scan.status, scan.started_at = "running", time.time()
        self._emit("started", scan)
        try:
            result = await self._scan_in_worker(scan)
            moved = [(str(old), str(new)) for old, new in result.pop("moves", None) or []]
            result["moved"] = len(moved)  # the list itself is no business of /api/status
            path = Path(result["db_path"])
            if result["generation"] != self.library.generation:
                snapshot = await open_snapshot(path, self.state, pool_size=self.pool_size)
                await self._follow_moves(moved)
                self.library.swap(snapshot)
                self.cache.remove_stale_generations(self.library.live_paths())
            scan.result = result
            scan.status = result["status"]
            if (result.get("probe") or {}).get("deferred"):
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
            worker = self._worker = await Worker.start(self._command(self.root, self.cache.path))
            log.info("scan worker started (pid %d)", worker.pid)

        def progress(message: dict[str, Any]) -> None:
            scan.phase = str(message.get("phase"))
            scan.files_seen = int(message.get("files", scan.files_seen))
            scan.phase_done, scan.phase_total = message.get("done"), message.get("total")
            self._emit("progress", scan)

        return await worker.scan_watched(scan.id, scan.paths, progress, self.scan_timeout)

    # -- lifecycle --------------------------------------------------------

    async def load_current(self) -> bool:
        """Serve the last published generation, if it is usable. True if one was."""
        found = await asyncio.to_thread(self._repair_cache)
        if found is None:
            return False
        path, _ = found
        snapshot = await open_snapshot(path, self.state, pool_size=self.pool_size)
        self.library.swap(snapshot)
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

    def _repair_cache(self) -> tuple[Path, dict[str, object]] | None:
        self.cache.ensure()
        self.cache.remove_temp_files()
        found = self.cache.usable_current(thorough=False)
        self.cache.remove_stale_generations({found[0]} if found else set())
        return found

    async def wait_idle(self) -> None:
        """Wait until no scan is running or queued."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop: abandon a running scan (killing its worker), forget the queue, stop the worker."""
        self._closed = True
        self._next = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._verify_task is not None:
            self._verify_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._verify_task
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._worker is not None:
            await self._worker.stop()
