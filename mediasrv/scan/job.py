"""One scan from start to finish: what to look at, looked at, then published.

The server runs it in its scan process (``process.py``), a separate,
low-priority process; ``mediasrv scan`` calls ``run_scan`` directly. This
module opens the current generation (once, for the whole scan) and lists
either the folders changed paths touched (``region.py``) or the whole tree
(``walk.py``; a rescan by two walkers, ``walkshare.py`` and ``rescan.py``);
``build.py`` decides what changed and how to publish it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MediasrvError, ScanFailed
from ..index.cachedir import CacheDir
from ..index.current import Current, open_current
from ..names import display
from .build import Progress, ScanResult, ScanRun, publish_region, publish_tree
from .compare import Comparison
from .fallback import NeedFullWalk
from .probe import PROBE_VERSION
from .progressive import Prefixes
from .region import list_region, touched
from .rescan import generation_of, walk_and_compare
from .staging import Staged
from .walk import Record, WalkStats
from .walkproc import walk_records as walk
from .walkshare import NeedOneWalker

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.2  # walk progress at most this often


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
    scan = ScanRun(os.path.realpath(root), cache, _one_at_a_time(progress), time.perf_counter())
    try:
        # An unmounted drive or a renamed root must not become an empty index.
        with os.scandir(scan.root):
            pass
    except OSError as exc:
        raise ScanFailed(
            f"cannot read the library root {display(str(root))}: {exc.strerror or exc}"
        ) from exc
    cache.ensure()
    with cache.lock("scan", wait=True), open_current(cache.current_target()) as current:
        # A part of a first walk is completed by walking everything, never patched.
        if (paths is not None and not full and current is not None and current.can_target
                and current.complete):
            try:
                return _targeted(scan, current, paths)
            except NeedFullWalk as exc:
                log.info("walking the whole library instead: %s", exc)
                scan.stats = WalkStats()
        records, comparison = _walk(scan, current, full=full)
        try:
            return publish_tree(scan, current, records, defer_probing=defer_probing,
                                rebuild=full, comparison=comparison)
        finally:
            if isinstance(records, Staged):
                records.close()


def _one_at_a_time(progress: Progress | None) -> Progress:
    """``progress``, called by one thread at a time (a first walk's part is reported by the
    thread that built it, ``progressive.py``)."""
    if progress is None:
        return lambda event: None
    lock = threading.Lock()

    def report(event: dict[str, Any]) -> None:
        with lock:
            progress(event)

    return report


def _walk(scan: ScanRun, current: Current | None, *, full: bool,
          ) -> tuple[list[Record] | Staged, Comparison | None]:
    """Every file of the tree, and the current generation compared with them (a rescan);
    a first walk (no complete generation) publishes as it goes.

    The walk runs in a process of its own (``walkproc.py``); this one compares each
    folder with the current generation (a rescan: a rescan that finds nothing new is
    decided when the walk ends) or, for a build in full, stages the files in a
    temporary file meanwhile (``staging.py``: no Python object per file).
    """
    # A generation still to be probed is built in full from every record (build.py).
    if (current is not None and current.complete and current.can_target and not full
            and current.probe_version >= PROBE_VERSION):
        try:
            return _rescan(scan, current)
        except NeedOneWalker as exc:
            log.info("walking with one walker: %s", exc)
            scan.stats = WalkStats()
    staged = Staged(scan.cache.path) if full or current is None or not current.complete else None
    try:
        return _walk_into(scan, current, full=full, staged=staged)
    except BaseException:
        if staged is not None:
            staged.close()
        raise


def _walk_into(scan: ScanRun, current: Current | None, *, full: bool, staged: Staged | None,
               ) -> tuple[list[Record] | Staged, Comparison | None]:
    first = current is None or not current.complete
    prefixes = Prefixes(scan, shown=current.file_count if current is not None else 0)
    comparison = Comparison(current.conn) if current is not None and not full else None
    records: list[Record] | Staged = staged if staged is not None else []

    def listed(folder: str, found: list[Record]) -> None:
        if comparison is not None:
            comparison.folder(folder, found)
        if staged is not None:
            staged.add(found)

    report_at = 0.0

    def progress(stats: WalkStats) -> None:
        # After each folder: ``records`` holds every file found so far.
        nonlocal report_at
        # A first walk always stages its files (``_walk``).
        if staged is not None and first and (due := prefixes.due(stats.files, staged.whole)):
            prefixes.publish(staged, None if due == len(staged) else due)  # and reports it
        elif time.monotonic() >= report_at:
            scan.report({"phase": "walking", "files": stats.files, "folders": stats.folders})
            report_at = time.monotonic() + REPORT_EVERY_S

    scan.report({"phase": "walking", "files": 0, "folders": 0})
    found = walk(Path(scan.root), exclude=[scan.cache.path], stats=scan.stats,
                 progress=progress, progress_every=0, folders=listed)
    try:
        if isinstance(records, list):
            records.extend(found)
        else:  # staged folder by folder (``listed``)
            deque(found, maxlen=0)
    except BaseException:
        prefixes.finish(give_up=False)  # a part nearly built is something to serve
        raise
    prefixes.finish()  # the complete build comes next: a part still being built is late
    if comparison is not None:
        comparison.finish()
    if prefixes.published or prefixes.given_up:
        log.info("%d incomplete generations published during the walk (%d given up when it"
                 " ended), built in %.2f s", prefixes.published, prefixes.given_up,
                 prefixes.seconds)
    return records, comparison


def _rescan(scan: ScanRun, current: Current) -> tuple[list[Record], Comparison]:
    """A rescan walked by two processes (``walkshare.py``), compared folder by folder as
    bytes (``rescan.py``); every record is made only when something changed."""
    scan.report({"phase": "walking", "files": 0, "folders": 0})
    comparison, records = walk_and_compare(
        current.conn, Path(scan.root), exclude=[scan.cache.path], stats=scan.stats,
        progress=lambda s: scan.report({"phase": "walking", "files": s.files,
                                        "folders": s.folders}),
        progress_every=REPORT_EVERY_S, generation=generation_of(current.path, current.number))
    return ([] if comparison.same else records()), comparison


def _targeted(scan: ScanRun, current: Current, paths: Sequence[str]) -> ScanResult:
    """Look only at the folders ``paths`` touched; publish them as a delta."""
    scan.report({"phase": "walking", "files": 0})
    shallow, deep = touched(paths, scan.root)
    listings = list_region(Path(scan.root), shallow, deep, current.folder_paths(),
                           exclude=[scan.cache.path], stats=scan.stats)
    return publish_region(scan, current, listings)


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
    if _idle_io():
        return
    ionice = shutil.which("ionice")
    if ionice:  # idle I/O class; best effort, the kernel may not support it
        import subprocess

        subprocess.run([ionice, "-c", "3", "-p", str(os.getpid())], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ioprio_set's system call number where it is known (Linux has no libc wrapper).
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "riscv64": 30, "armv7l": 314, "armv6l": 314}
_IOPRIO_IDLE = 3 << 13  # IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)


def _idle_io() -> bool:
    """This process in the idle I/O class by ioprio_set(2); False where that is not known
    here. Running ``ionice`` instead is a fork and an exec on the scan process's start-up
    (5 ms idle, 40 ms once the process is SCHED_IDLE on a busy machine)."""
    import ctypes
    import platform

    number = _IOPRIO_SET.get(platform.machine())
    if number is None:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(number, 1, 0, _IOPRIO_IDLE)) == 0  # IOPRIO_WHO_PROCESS, self
    except (OSError, AttributeError):
        return False
