"""The library: which generation is served now, leases on it, and retiring old ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from collections.abc import Set as AbstractSet
from pathlib import Path

from ..errors import IndexNotReady
from ..index.cachedir import CacheDir
from ..snapshot import Snapshot

log = logging.getLogger(__name__)


class LeasedSnapshot:
    """A snapshot being served or still read: the count of requests reading it (its
    leases), and its files found gone. ("Generation" is the published file and its number.)"""

    __slots__ = ("disposed", "gone", "leases", "retired", "snapshot")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.leases = 0
        self.retired = False
        self.disposed = False
        # Paths of this generation found missing on disk; the next one drops them.
        self.gone: set[str] = set()


class Library:
    """Holds the current generation; ``swap`` repoints it in one step.

    All bookkeeping happens on the event loop, so a lease count needs no lock:
    taking a lease and swapping can never interleave within one step. A
    retired generation is disposed (file deleted by ``cache``, connections
    closed) when its last lease is returned, never earlier; after each swap,
    generation files nobody reads (a scan's that was never served) go too.
    Without ``cache`` (a follower: its leader deletes) no file is deleted.

    ``view``, if given, is what a lease hands out instead of the snapshot
    itself (the server's adds the user's stars: ``starred.py``).
    """

    def __init__(self, cache: CacheDir | None = None, *,
                 view: Callable[[Snapshot], Snapshot] | None = None) -> None:
        self.view = view
        self._current: LeasedSnapshot | None = None
        self._live: dict[int, LeasedSnapshot] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._cache = cache
        self.swaps = 0  # generations put into service (for /metrics)
        # What a request hears before the first generation is served.
        self.not_ready = "the first scan of this library has not finished yet"

    @property
    def current(self) -> Snapshot | None:
        return self._current.snapshot if self._current else None

    @property
    def generation(self) -> int | None:
        return self._current.snapshot.generation if self._current else None

    def retired_leases(self) -> int:
        """Requests still reading a generation that was swapped out (for /metrics)."""
        return sum(g.leases for g in self._live.values() if g.retired)

    def live_paths(self) -> set[Path]:
        """Files of every generation still open (current or leased)."""
        return {g.snapshot.path for g in self._live.values()}

    def gone(self, generation: int) -> AbstractSet[str]:
        """Paths of ``generation`` found missing on disk since it was published (read-only)."""
        gen = self._live.get(generation)
        return gen.gone if gen is not None else frozenset()

    def found_gone(self, generation: int, path: str) -> bool:
        """Note that ``path`` of ``generation`` is missing on disk; True the first time.

        The note lives and dies with the generation: a rescan publishes one
        without the file, and the notes of a retired generation go with it.
        """
        gen = self._live.get(generation)
        if gen is None or path in gen.gone:
            return False
        gen.gone.add(path)
        return True

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """Lease the current generation for the body of the ``async with``."""
        gen = self._current
        if gen is None:
            raise IndexNotReady(self.not_ready)
        gen.leases += 1
        try:
            yield gen.snapshot if self.view is None else self.view(gen.snapshot)
        finally:
            gen.leases -= 1
            if gen.retired and gen.leases == 0:
                self._dispose(gen)

    def swap(self, snapshot: Snapshot) -> Snapshot | None:
        """Serve ``snapshot`` from now on; retire the one served until now.

        Synchronous on purpose: one step on the event loop, nothing to await,
        so no request can observe a half-done swap.
        """
        old = self._current
        if old is not None and old.snapshot.generation == snapshot.generation:
            raise ValueError(f"generation {snapshot.generation} is already being served")
        gen = LeasedSnapshot(snapshot)
        self.swaps += 1
        self._live[snapshot.generation] = gen
        self._current = gen
        if old is not None:
            old.retired = True
            if old.leases == 0:
                self._dispose(old)
        if self._cache is not None:
            self._cache.remove_stale_generations(self.live_paths())
        # Whoever swaps says so in the log, with why (a scan's summary, a follower).
        log.debug("serving generation %d (%s)", snapshot.generation, snapshot.state)
        return old.snapshot if old else None

    def _dispose(self, gen: LeasedSnapshot) -> None:
        if gen.disposed:
            return
        gen.disposed = True
        self._live.pop(gen.snapshot.generation, None)
        if self._cache is not None:
            # Now, before its connections close: the file is gone the moment
            # its last reader is.
            self._cache.delete_generation(gen.snapshot.path)
        task = asyncio.get_running_loop().create_task(gen.snapshot.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def settled(self) -> None:
        """Wait until every retired generation has closed its connections."""
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)

    async def close(self) -> None:
        """Close every generation (at shutdown). Files of the current one stay."""
        current = self._current
        self._current = None
        for gen in list(self._live.values()):
            gen.disposed = True
            self._live.pop(gen.snapshot.generation, None)
            if gen is not current and self._cache is not None:
                self._cache.delete_generation(gen.snapshot.path)
            await gen.snapshot.close()
        await self.settled()
