"""The declared shape of ``/api/status``: one TypedDict per part, and the whole.

Each part is made by what it describes (a scan, the watcher, a follower, the
thumbnail cache, a ``--workers`` group) and read by ``server/api.py``, which
puts them together; ``mediasrv/server/openapi.json`` describes the same keys
(``tests/test_openapi.py`` holds the two in step).
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict
# only sees NotRequired in annotations that are not strings.
from typing import Any, NotRequired, TypedDict


class ScanInfo(TypedDict):
    """One scan, from the moment it is asked for until it ends (``Scan.as_dict``).

    The result's own keys come once the scan has finished; keys a newer scan
    process reports are passed on as well (the whole is then cast to this).
    """

    db_path: NotRequired[str]
    tags: NotRequired[int]
    scope: NotRequired[str]
    moved: NotRequired[int]
    id: int
    reasons: list[str]
    paths: int | None  # how many; None: everything
    status: str
    phase: str | None
    files_seen: int
    folders_seen: int  # folders listed so far by a walk of the whole tree
    phase_done: int | None
    phase_total: int | None
    queued_at: float
    started_at: float | None
    finished_at: float | None
    generation: int | None
    files: int | None
    added: int | None
    removed: int | None
    changed: int | None
    duration_s: float | None
    scan_s: float | None
    walk: dict[str, Any] | None
    probe: dict[str, Any] | None
    mode: str | None
    error: str | None
    retry_at: float | None


class WatcherStatus(TypedDict):
    """The library watcher (``watch/watcher.py``); ``off`` where none runs."""

    state: str  # off, starting, watching, polling, restarting, failed
    backend: str | None
    error: str | None
    restarts: int
    fallback_interval_s: float | None  # the rescan period in force once it has failed


class SwapInfo(TypedDict):
    """A follower's last swap."""

    generation: int
    previous: int | None
    files: int
    published_at: float | None
    swapped_at: float
    lag_s: float | None


class FollowerStatus(TypedDict):
    """A follower (``serve/follower.py``): what it watches, how far behind it is."""

    cache_dir: str
    watch: str | None  # inotify or polling
    watch_error: str | None
    cache_generation: int | None
    behind: int | None
    lag_s: float | None
    swaps: int
    last_swap: SwapInfo | None
    checked_at: float | None
    error: str | None


class ThumbnailsStatus(TypedDict):
    """The thumbnail cache (``media/thumbs.py``): ``failing`` while it cannot be written."""

    cache: str
    error: str | None
    failed_writes: int


class WorkerInfo(TypedDict):
    """One follower process of a ``--workers`` group."""

    worker: int
    pid: int | None
    started_at: float
    restarts: int
    last_exit: int | None


class WorkersStatus(TypedDict):
    """A ``--workers`` group (``cli/workers.py``), shown by the process that runs it."""

    count: int
    followers: list[WorkerInfo]


class IndexingStatus(TypedDict):
    """How far a first walk has gone while the generation served is part of it.

    No estimate of the total: nothing short of walking the tree tells how many
    files it holds (docs/DESIGN.md, "Progressive first index").
    """

    files: int  # in the generation served
    files_found: int  # by the walk so far (what it had found at publishing, if none runs)
    folders_found: int


class Status(TypedDict):
    """The answer of ``GET /api/status``, its keys in this order."""

    generation: int | None
    state: str
    root: str
    files: int | None
    complete: bool | None  # False while the generation served is part of a first walk
    indexing: IndexingStatus | None  # while it is
    scanned_at: str | None
    last_scan_at: str | None
    db_path: str
    scanning: bool
    scan: ScanInfo | None
    queued: int | None
    last_scan: ScanInfo | None
    watcher: WatcherStatus
    role: str  # leader or follower
    follower: NotRequired[FollowerStatus]  # on a follower
    thumbnails: NotRequired[ThumbnailsStatus]  # with the web UI
    workers: NotRequired[WorkersStatus]  # with --workers N
