"""What the coordinator says about scans: each scan's state, and the events that carry it.

``Scan`` is one scan from the moment it is asked for until it ends; its
``as_dict`` is what ``/api/status`` and every event show of it. ``Broadcaster``
hands each ``Event`` to every subscriber (the ``/api/events`` streams), encoded
once, without ever blocking on a slow reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any, cast

from .outcome import ScanOutcome
from .status import ScanInfo

log = logging.getLogger(__name__)

# The most paths one scan carries; a scan asked to look at more walks everything
# (at that point a walk is about as cheap as the lookups, and the list stays small).
MAX_PATHS = 10_000


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
    folders_seen: int = 0
    phase_done: int | None = None  # progress in a phase with a known total (probing)
    phase_total: int | None = None
    queued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: ScanOutcome | None = None  # what the scan process reported, once it finished
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

    def summary(self) -> str:
        """The one log line of a finished scan (a failed one has its own, an error)."""
        result = self.result
        head = f"scan {self.id} ({', '.join(self.reasons)}):"
        took = f"{self.finished_at - self.queued_at:.2f} s" if self.finished_at else "?"
        walk = result.walk if result is not None else {}
        # Only what needs a person: files deleted during the walk are what it is for.
        unread = (walk.get("unreadable") or 0) + (walk.get("errors") or 0)
        skipped = f"; {unread} could not be read (see /api/status)" if unread else ""
        if result is None:
            return f"{head} {self.status}, {took}{skipped}"
        if self.status == "unchanged":
            return f"{head} no change, {result.files} files, {took}{skipped}"
        return (f"{head} generation {result.generation} served, "
                f"{result.files} files (+{result.added} -{result.removed} "
                f"~{result.changed}), {took}{skipped}")

    def progressed(self, message: dict[str, Any]) -> None:
        """Take in a progress message from the scan process."""
        self.phase = str(message.get("phase"))
        self.files_seen = int(message.get("files", self.files_seen))
        self.folders_seen = int(message.get("folders", self.folders_seen))
        self.phase_done, self.phase_total = message.get("done"), message.get("total")

    def as_dict(self) -> ScanInfo:
        result = self.result
        known = {
            "id": self.id,
            "reasons": list(self.reasons),
            "paths": None if self.paths is None else len(self.paths),
            "status": self.status,
            "phase": self.phase,
            "files_seen": self.files_seen,
            "folders_seen": self.folders_seen,
            "phase_done": self.phase_done,
            "phase_total": self.phase_total,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "generation": result.generation if result else None,
            "files": result.files if result else None,
            "added": result.added if result else None,
            "removed": result.removed if result else None,
            "changed": result.changed if result else None,
            # From the (first) request to the new generation being served: what a caller waits.
            "duration_s": (round(self.finished_at - self.queued_at, 3)
                           if self.finished_at is not None else None),
            "scan_s": result.duration_s if result else None,  # the scan process's own share
            "walk": result.walk if result else None,
            "probe": result.probe if result else None,
            "mode": result.mode if result else None,
            "error": self.error,
            "retry_at": self.retry_at,
        }
        # What else the scan reported (its index file, its scope, newer keys) comes first.
        reported = result.reported() if result else {}
        return cast(ScanInfo, {**{k: v for k, v in reported.items() if k not in known}, **known})


class Broadcaster:
    """Scan events to every subscriber; a slow one loses old progress, never the newest."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of scan events (started, progress, finished, failed)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

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
        self.broadcast({"event": "shutdown"})
