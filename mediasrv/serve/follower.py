"""Followers: serve the generations another mediasrv (the leader) publishes into a cache dir.

A follower never scans, never watches the library, takes no lock and never
deletes a generation file. It watches the cache dir itself for ``current.db``
being repointed (inotify on that one folder, read on the event loop: no
thread, no debounce) and also looks every second, which is all it does where
watching cannot work: network filesystems, where inotify sees only changes
made on the same host, ``--force-polling``, or no inotify at all. Each new
generation is opened read-only (``immutable=1``) and swapped in exactly as the
leader swaps its own; a retired one closes its connections when its last
request ends, and its file is left to the leader, which unlinks it (open
connections keep reading an unlinked file).

Whatever the cache dir shows (no generation yet, ``current.db`` briefly
missing, a file being set aside or already deleted, a generation of another
schema), the follower keeps serving what it has and catches up when it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..index import db
from ..index.cachedir import CacheDir
from ..names import display
from ..snapshot import open_snapshot
from .cachewatch import DirWatch, filesystem_type, needs_polling
from .library import Library
from .status import FollowerStatus, SwapInfo

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often the pointer is read anyway (the only way, where watching cannot work)
ATTEMPTS = 3  # a generation deleted before it could be opened: read the pointer again this often
@dataclass(frozen=True)
class Pointer:
    """What ``current.db`` named when it was read, and when it was made to (its mtime)."""

    target: Path | None
    number: int | None
    published_at: float | None


def _interesting(name: str) -> bool:
    # current.db repointed, or a generation file arriving (a shipper may copy it late)
    return name == "current.db" or (name.startswith("gen-") and name.endswith(".db"))


class Follower:
    """Keeps ``library`` on the generation the cache dir's ``current.db`` names."""

    def __init__(
        self,
        cache: CacheDir,
        library: Library,
        *,
        state: str = "sqlite",
        pool_size: int = 3,
        polling: bool | None = None,
        poll_s: float = POLL_S,
        on_swap: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.cache = cache
        self.library = library
        self.state = state
        self.pool_size = pool_size
        self.poll_s = poll_s
        self.on_swap = on_swap
        self._polling = polling
        self._watch: DirWatch | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._logged: tuple[int | None, str] | None = None
        library.not_ready = (f"no generation has been published into {display(str(cache.path))} "
                             "yet; waiting for the leader")
        self.swaps = 0
        # What /api/status shows under "follower"; updated in place at every look.
        self.info: FollowerStatus = {
            "cache_dir": display(str(cache.path)),
            "watch": None,
            "watch_error": None,
            "cache_generation": None,
            "behind": None,
            "lag_s": None,
            "swaps": 0,
            "last_swap": None,
            "checked_at": None,
            "error": None,
        }

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        """Serve the current generation, if there is one, then keep up with the cache dir."""
        if self._polling is None:
            fstype = await asyncio.to_thread(filesystem_type, self.cache.path)
            self._polling = needs_polling(fstype)
            if self._polling:
                log.info("the cache dir is on %s: looking for new generations every %gs",
                         fstype, self.poll_s)
        self._ensure_watch()
        await self.catch_up()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def wake(self) -> None:
        """Look at the cache dir now."""
        self._wake.set()

    def _ensure_watch(self) -> None:
        if self._polling:
            self.info.update({"watch": "polling"})
            return
        if self._watch is not None and self._watch.alive:
            return
        if self._watch is not None:
            self._watch.close()
        watch = DirWatch(self.cache.path, _interesting, self.wake)
        try:
            watch.start()
        except OSError as exc:
            self._watch = None
            if self.info["watch_error"] is None:
                log.info("not watching %s (%s); looking every %gs", self.cache.path,
                         exc.strerror or exc, self.poll_s)
            self.info.update({"watch": "polling", "watch_error": str(exc.strerror or exc)})
            return
        self._watch = watch
        self.info.update({"watch": "inotify", "watch_error": None})

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            try:
                self._ensure_watch()  # the cache dir may have appeared, or been re-created
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:  # never stop following
                log.exception("following %s failed; trying again", self.cache.path)

    # -- catching up ------------------------------------------------------

    def _read_pointer(self) -> Pointer:
        for _ in range(ATTEMPTS):
            target = self.cache.current_target()
            if target is None:
                return Pointer(None, None, None)
            try:
                published = os.lstat(self.cache.current).st_mtime
            except FileNotFoundError:
                continue
            if self.cache.current_target() == target:  # not repointed in between
                return Pointer(target, self.cache.number_of(target), published)
        return Pointer(None, None, None)

    async def catch_up(self) -> bool:
        """Swap to the generation ``current.db`` names, if it is newer; True if it swapped."""
        for _ in range(ATTEMPTS):
            try:
                pointer = await asyncio.to_thread(self._read_pointer)
            except OSError as exc:  # the cache dir is unreadable, or gone
                self._note(pointer=None, error=f"cannot read {self.cache.current}: {exc}")
                return False
            served = self.library.generation
            number = pointer.number
            if pointer.target is None:
                waiting = None if served is not None else "no generation published yet"
                self._note(pointer, error=waiting, quiet=True)
                return False
            if number is None:
                self._note(pointer, error="current.db does not name a generation file; "
                                          "waiting for the leader to repair it")
                return False
            if number == served:
                self._note(pointer)
                return False
            if served is not None and number < served and await asyncio.to_thread(
                self.cache.gen_path(served).exists
            ):
                self._note(pointer, error=f"current.db names generation {number}, older than "
                                          f"generation {served} being served; keeping {served}")
                return False
            try:
                snapshot = await open_snapshot(pointer.target, self.state,
                                               pool_size=self.pool_size)
            except (db.InvalidGeneration, OSError, sqlite3.Error) as exc:
                # Already deleted (the leader moved on), being set aside, damaged, or of
                # another schema: if the pointer moved meanwhile, try the newer one.
                again = await asyncio.to_thread(self._read_pointer)
                if again.number is not None and again.number != number:
                    continue
                self._note(pointer, error=f"cannot serve generation {number} yet: {exc}")
                return False
            self._swap(snapshot, pointer)
            return True
        return False

    def _swap(self, snapshot: Any, pointer: Pointer) -> None:
        old = self.library.swap(snapshot)
        log.info("serving generation %d (%s)", snapshot.generation, snapshot.state)
        now = time.time()
        published = pointer.published_at
        self.swaps += 1
        last: SwapInfo = {
            "generation": snapshot.generation,
            "previous": old.generation if old is not None else None,
            "files": snapshot.file_count,
            "published_at": published,
            "swapped_at": now,
            "lag_s": round(max(0.0, now - published), 4) if published is not None else None,
        }
        self.info.update({"swaps": self.swaps, "last_swap": last})
        self._note(pointer)
        if self.on_swap is not None:
            try:
                self.on_swap({"event": "swap", **last})
            except Exception:  # telling listeners is not following
                log.exception("announcing the swap to generation %d failed", snapshot.generation)

    def _note(self, pointer: Pointer | None, *, error: str | None = None,
              quiet: bool = False) -> None:
        """Record what the last look found (for /api/status), and log a new problem once."""
        served = self.library.generation
        now = time.time()
        newest = pointer.number if pointer is not None else self.info["cache_generation"]
        behind = newest is not None and newest != served
        published = pointer.published_at if pointer is not None else None
        self.info.update({
            "cache_generation": newest,
            "behind": max(0, newest - (served or 0)) if behind and newest is not None else 0,
            "lag_s": round(now - published, 3) if behind and published is not None else 0.0,
            "checked_at": now,
            "error": error,
        })
        key = (newest, error or "")
        if error is not None and key != self._logged:
            serving = f"serving generation {served}" if served is not None else "nothing served yet"
            (log.info if quiet else log.warning)("%s (%s)", error, serving)
        self._logged = key if error is not None else None
