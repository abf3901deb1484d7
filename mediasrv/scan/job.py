"""One scan from start to finish: walk, compare with the current generation, build, publish.

The server runs it in its scan worker (``scanworker.py``), a separate,
low-priority process; ``mediasrv scan`` calls ``run_scan`` directly. This
module decides what to look at and what changed; ``scanbuild.py`` probes,
builds and publishes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import MediasrvError, ScanFailed
from ..index.cachedir import CacheDir
from ..index.current import Current, file_stats, folder_paths, read_current
from ..names import display
from .build import (
    Progress,
    ScanResult,
    ScanRun,
    delta_build,
    full_build,
    small_enough_for_delta,
    unchanged,
)
from .delta import NeedFullBuild
from .probe import PROBE_VERSION
from .region import NeedFullWalk, list_region, touched
from .walk import Record, WalkStats, walk

log = logging.getLogger(__name__)


def run_scan(
    root: Path, cache: CacheDir, progress: Progress | None = None, *,
    defer_probing: bool = False, paths: Sequence[str] | None = None, full: bool = False,
) -> ScanResult:
    """Scan ``root`` and publish a new generation if anything changed.

    ``paths`` (changed files or folders, relative to the root) limits the
    scan to the folders they touched; None walks everything. A change is
    built as a delta of the current generation when it can be (``full``
    forces a complete build). With ``defer_probing``, a first scan of a big
    library publishes before it probes (the result says ``probe.deferred``);
    the next scan probes.
    """
    scan = ScanRun(os.path.realpath(root), cache, progress or (lambda event: None),
                 time.perf_counter())
    try:
        # An unmounted drive or a renamed root must not become an empty index.
        with os.scandir(scan.root):
            pass
    except OSError as exc:
        raise ScanFailed(
            f"cannot read the library root {display(str(root))}: {exc.strerror or exc}"
        ) from exc
    cache.ensure()
    with cache.lock("scan", wait=True):
        current = read_current(cache.current_target())
        deltas_ok = (current is not None and not full
                     and current.probe_version >= PROBE_VERSION)
        if paths is not None and deltas_ok and current is not None and current.can_target:
            try:
                return _targeted(scan, current, paths)
            except (NeedFullWalk, NeedFullBuild) as exc:
                log.info("walking the whole library instead: %s", exc)
                scan.stats = WalkStats()
        return _everything(scan, current, deltas_ok=deltas_ok, defer_probing=defer_probing,
                           rebuild=full)


def _targeted(scan: ScanRun, current: Current, paths: Sequence[str]) -> ScanResult:
    """Look only at the folders ``paths`` touched; publish them as a delta."""
    scan.report({"phase": "walking", "files": 0})
    shallow, deep = touched(paths, scan.root)
    listings = list_region(Path(scan.root), shallow, deep, folder_paths(current.path),
                           exclude=[scan.cache.path], stats=scan.stats)
    result = delta_build(scan, current, listings)
    if result is None:
        return unchanged(scan, current, scope="paths")
    result.scope = "paths"
    return result


def _everything(
    scan: ScanRun, current: Current | None, *, deltas_ok: bool, defer_probing: bool,
    rebuild: bool = False,
) -> ScanResult:
    """Walk the whole tree; publish what changed, as a delta when it is small enough.

    ``rebuild`` publishes a full build even when nothing changed.
    """
    scan.report({"phase": "walking", "files": 0})
    rows = file_stats(current.path) if current is not None else []
    records: list[Record] = list(walk(
        Path(scan.root), exclude=[scan.cache.path], stats=scan.stats,
        progress=lambda s: scan.report({"phase": "walking", "files": s.files}),
    ))
    scan.report({"phase": "comparing", "files": len(records)})
    # Records are (path, size, mtime_ns) tuples like the rows: when nothing
    # changed (the usual rescan) one comparison in C says so.
    same = len(rows) == len(records) and set(rows) == set(records)
    if same and current is not None and current.probe_version >= PROBE_VERSION and not rebuild:
        return unchanged(scan, current, scope="all")
    if not same and deltas_ok and current is not None:
        touched_folders = _changed_folders(rows, records)
        if touched_folders is not None:
            listings: dict[str, list[Record]] = {f: [] for f in touched_folders}
            for rec in records:
                folder = rec.path.rpartition("/")[0]
                if folder in listings:
                    listings[folder].append(rec)
            try:
                result = delta_build(scan, current, listings)
            except NeedFullBuild as exc:
                log.info("building the index in full: %s", exc)
            else:
                if result is not None:
                    return result
    return full_build(scan, current, rows, records, defer_probing=defer_probing)


def _changed_folders(
    rows: list[tuple[str, int, int]], records: list[Record]
) -> set[str] | None:
    """Folders whose files differ between ``rows`` and ``records``; None if too many files do."""
    old = {path: (size, mtime) for path, size, mtime in rows}
    folders: set[str] = set()
    differ = matched = 0
    for rec in records:
        before = old.get(rec.path)
        matched += before is not None
        if before != (rec.size, rec.mtime_ns):
            differ += 1
            folders.add(rec.path.rpartition("/")[0])
    gone = len(old) - matched
    if not small_enough_for_delta(differ + gone, max(len(rows), len(records))):
        return None
    if gone:
        now = {r.path for r in records}
        folders.update(p.rpartition("/")[0] for p in old if p not in now)
    return folders


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (the OS's ENOSPC, or SQLite's SQLITE_FULL)."""
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, sqlite3.OperationalError) and "full" in str(exc))


def describe_failure(exc: BaseException) -> str:
    """One line a user can act on."""
    if isinstance(exc, MediasrvError):  # ScanFailed, an unwritable cache dir (UserError)
        return str(exc)
    if disk_full(exc):
        return f"the disk is full ({exc}); the previous index is still served"
    return f"{type(exc).__name__}: {exc}"


def lower_priority() -> None:
    """Yield the CPU and the disk to the server: a scan is background work.

    SCHED_IDLE as well as nice 19: a server thread that wakes up then takes the
    CPU from the scan at once, where at nice 19 alone the scan may first run
    out its time slice. With four followers on 2 cores, their p99 during a
    leader's rescans was lower with it in each of four paired runs (1.16-1.29x
    idle against 1.30-1.61x; docs/DESIGN.md); the scan itself gets slower
    when the CPUs are busy.
    """
    with contextlib.suppress(OSError):
        os.nice(19)
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    ionice = shutil.which("ionice")
    if ionice:  # idle I/O class; best effort, the kernel may not support it
        import subprocess

        subprocess.run([ionice, "-c", "3", "-p", str(os.getpid())], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
