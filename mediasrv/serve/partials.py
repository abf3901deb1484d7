"""The generations a first walk publishes part-way, served as they come.

A first walk (``mediasrv/scan/progressive.py``) publishes growing prefixes
of the library while it goes; each arrives as a progress event of the scan
with a ``published`` key. ``Partials`` opens the newest one and swaps it in,
one at a time, off the scan's own path: an older part that arrives while a
newer one is being opened is skipped, and no part replaces a newer
generation. A part that cannot be served is logged and passed over; the
complete generation comes with the scan's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..snapshot import Snapshot
from .events import Scan
from .library import Library
from .status import IndexingStatus

log = logging.getLogger(__name__)


class Partials:
    """Serves the incomplete generations of a first walk, newest first, one open at a time."""

    def __init__(self, library: Library, open_: Callable[[Path], Awaitable[Snapshot]]) -> None:
        self._library = library
        self._open = open_
        self._next: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.served = 0  # parts swapped in

    def offer(self, published: dict[str, Any]) -> None:
        """A part was published (``{generation, db_path, files, tags}``): serve it soon."""
        if self._closed:  # shutting down: the scan's last words change nothing
            return
        self._next = published
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._serve())

    async def settle(self) -> None:
        """Forget parts not opened yet and wait for the one being opened (the scan ended:
        its result is newer)."""
        self._next = None
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        """Stop opening parts (at shutdown), for good."""
        self._closed = True
        self._next = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _newer(self, generation: int) -> bool:
        served = self._library.generation
        return served is None or generation > served

    async def _serve(self) -> None:
        while self._next is not None:
            part, self._next = self._next, None
            try:
                if not self._newer(int(part["generation"])):
                    continue
                snapshot = await self._open(Path(str(part["db_path"])))
            except Exception as exc:  # not this scan's failure: the complete one follows
                log.warning(
                    "cannot serve generation %s, part of the first walk: %s",
                    part.get("generation"),
                    exc,
                )
                continue
            if not self._newer(snapshot.generation):
                await snapshot.close()
                continue
            self._library.swap(snapshot)
            self.served += 1
            log.info(
                "serving generation %d: the first %d files found; indexing goes on",
                snapshot.generation,
                snapshot.file_count,
            )


def indexing(served: Snapshot | None, running: Scan | None) -> IndexingStatus | None:
    """How far the first walk is, while the generation ``served`` is part of it (else None).

    What the generation's walk had found when it was published, or what the
    walk ``running`` now has found, whichever is further (a walk begun again
    after a crash starts from nothing).
    """
    if served is None or served.complete:
        return None
    try:
        walked = json.loads(str(served.meta.get("walk") or "{}"))
    except ValueError:
        walked = {}
    files = int(walked.get("files") or 0) if isinstance(walked, dict) else 0
    folders = int(walked.get("folders") or 0) if isinstance(walked, dict) else 0
    if running is not None and running.paths is None:
        files, folders = max(files, running.files_seen), max(folders, running.folders_seen)
    return IndexingStatus(
        files=served.file_count, files_found=max(files, served.file_count), folders_found=folders
    )
