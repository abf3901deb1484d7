"""The RescanCoordinator: the single door to rescans.

Whoever asks (HTTP, the watcher, the interval timer, start-up), one scan runs
at a time, in a separate low-priority process; requests that arrive while it
runs coalesce into at most one follow-up scan. A finished scan's generation is
opened and swapped in; a failed one leaves the current generation serving and
says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import db
from .cache import CacheDir
from .child import child_env, json_lines
from .library import Library
from .snapshot import Snapshot, open_snapshot

log = logging.getLogger(__name__)


@dataclass
class Scan:
    """One scan, from the moment it is asked for until it ends."""

    id: int
    reasons: list[str]
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
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in ("published", "unchanged", "failed")

    def as_dict(self) -> dict[str, Any]:
        result = self.result or {}
        return {
            "id": self.id,
            "reasons": list(self.reasons),
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
            "duration_s": result.get("duration_s"),
            "walk": result.get("walk"),
            "probe": result.get("probe"),
            "error": self.error,
        }


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
        command: Callable[[Path, Path], list[str]] | None = None,
    ) -> None:
        self.root = Path(root)
        self.cache = cache
        self.library = library
        self.state = state
        self.pool_size = pool_size
        self._command = command or default_command
        self._ids = itertools.count(1)
        self._running: Scan | None = None
        self._next: Scan | None = None
        self._last: Scan | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.process: asyncio.subprocess.Process | None = None
        self._closed = False
        self._verify_task: asyncio.Task[None] | None = None
        # Called (synchronously, on the loop) with each snapshot a scan swaps in.
        self.on_swap: list[Callable[[Snapshot], None]] = []
        self.scans_run = 0

    # -- asking for scans -------------------------------------------------

    def request(self, reason: str) -> Scan:
        """Ask for a rescan; returns the scan that will answer it.

        If a scan is already queued, that one answers this request too: it
        will start after everything that happened so far.
        """
        if self._closed:
            raise RuntimeError("the coordinator is shut down")
        if self._next is not None:
            if reason not in self._next.reasons:
                self._next.reasons.append(reason)
            return self._next
        scan = Scan(next(self._ids), [reason])
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
            {"event": event, "scan": scan.as_dict(), "generation": self.library.generation}
        )

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send ``message`` (its ``event`` names it) to every subscriber."""
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
                scan.done.set()
            self._emit("failed" if scan.status == "failed" else "finished", scan)

    async def _run(self, scan: Scan) -> None:
        scan.status, scan.started_at = "running", time.time()
        self._emit("started", scan)
        try:
            result = await self._scan_process(scan)
            path = Path(result["db_path"])
            if result["generation"] != self.library.generation:
                snapshot = await open_snapshot(path, self.state, pool_size=self.pool_size)
                self.library.swap(snapshot)
                self.cache.remove_stale_generations(self.library.live_paths())
                for hook in list(self.on_swap):
                    try:
                        hook(snapshot)
                    except Exception:  # a hook's failure is not the scan's
                        log.exception("after-swap hook %r failed", hook)
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
            # A killed scan process leaves its temp file; nobody else will.
            await asyncio.to_thread(self.cache.remove_temp_files)
        finally:
            scan.finished_at = time.time()

    async def _scan_process(self, scan: Scan) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            *self._command(self.root, self.cache.path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(),
            limit=1 << 20,
        )
        self.process = proc
        stderr_task = asyncio.get_running_loop().create_task(self._relay_stderr(proc))
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            assert proc.stdout is not None
            async for message in json_lines(proc.stdout, "scan process"):
                kind = message.pop("type", None)
                if kind == "progress":
                    scan.phase = str(message.get("phase"))
                    scan.files_seen = int(message.get("files", scan.files_seen))
                    scan.phase_done, scan.phase_total = message.get("done"), message.get("total")
                    self._emit("progress", scan)
                elif kind == "result":
                    result = message
                elif kind == "error":
                    error = str(message.get("message"))
            code = await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        finally:
            self.process = None
            await stderr_task
        if result is not None and code == 0:
            return result
        if error is None:
            if code < 0:
                error = f"scan process killed by signal {signal.Signals(-code).name}"
            else:
                error = f"scan process exited with status {code}"
        raise RuntimeError(error)

    @staticmethod
    async def _relay_stderr(proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                log.warning("%s", text)

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
        """Stop: kill a running scan process, forget the queue."""
        self._closed = True
        self._next = None
        if self._verify_task is not None:
            self._verify_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._verify_task
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def default_command(root: Path, cache_dir: Path) -> list[str]:
    return [sys.executable, "-m", "mediasrv.scanjob", os.fsdecode(root), os.fsdecode(cache_dir)]
