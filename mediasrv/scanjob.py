"""One scan from start to finish: walk, compare with the current generation, build, publish.

The server runs it in its scan worker (``scanworker.py``), a separate,
low-priority process; ``mediasrv scan`` calls ``run_scan`` directly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import db, delta, moves
from .builder import Probed, build, write_meta
from .cache import CacheDir
from .delta import NeedFullBuild
from .errors import MediasrvError, ScanFailed
from .generation import Current, file_stats, folder_paths, probed, read_current, reading
from .names import display
from .probe import DEFER_OVER, PROBE_VERSION, ProbeStats, probe_records, wants_probe
from .region import NeedFullWalk, list_region, touched
from .walk import Record, WalkStats, walk

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, object]], None]


# A change of more than this share of the library (plus DELTA_MIN_FULL files)
# is built in full. Measured at 100k files (docs/BENCHMARKS.md, "Delta or
# full build"), a delta of 50,000 new files still took a third of a full
# build's time; past half the library a full build also repacks the ids.
DELTA_MAX_SHARE = 0.5
DELTA_MIN_FULL = 2_000


@dataclass
class ScanResult:
    """What a finished scan did.

    ``status`` is ``published`` or ``unchanged``; ``mode`` says how a published
    generation was made (``full`` or ``delta``); ``scope`` what was looked at
    (``all``: the whole tree was walked, ``paths``: only the touched folders).
    """

    status: str
    generation: int
    db_path: str
    files: int
    tags: int
    added: int
    removed: int
    changed: int
    duration_s: float
    walk: dict[str, object] = field(default_factory=dict)
    probe: dict[str, object] = field(default_factory=lambda: ProbeStats().as_dict())
    mode: str | None = None
    scope: str = "all"
    # (old path, new path) of files that moved (moves.py): favourites follow them.
    moves: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Scan:
    """One run of ``run_scan``: what every step needs."""

    root: str  # real path of the root
    cache: CacheDir
    report: Progress
    started: float
    stats: WalkStats = field(default_factory=WalkStats)

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


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
    scan = _Scan(os.path.realpath(root), cache, progress or (lambda event: None),
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


def _targeted(scan: _Scan, current: Current, paths: Sequence[str]) -> ScanResult:
    """Look only at the folders ``paths`` touched; publish them as a delta."""
    scan.report({"phase": "walking", "files": 0})
    shallow, deep = touched(paths, scan.root)
    listings = list_region(Path(scan.root), shallow, deep, folder_paths(current.path),
                           exclude=[scan.cache.path], stats=scan.stats)
    result = _delta(scan, current, listings)
    if result is None:
        return _unchanged(scan, current, scope="paths")
    result.scope = "paths"
    return result


def _everything(
    scan: _Scan, current: Current | None, *, deltas_ok: bool, defer_probing: bool,
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
        return _unchanged(scan, current, scope="all")
    if not same and deltas_ok and current is not None:
        touched_folders = _changed_folders(rows, records)
        if touched_folders is not None:
            listings: dict[str, list[Record]] = {f: [] for f in touched_folders}
            for rec in records:
                folder = rec.path.rpartition("/")[0]
                if folder in listings:
                    listings[folder].append(rec)
            try:
                result = _delta(scan, current, listings)
            except NeedFullBuild as exc:
                log.info("building the index in full: %s", exc)
            else:
                if result is not None:
                    return result
    return _full_build(scan, current, rows, records, defer_probing=defer_probing)


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
    if differ + gone > DELTA_MAX_SHARE * max(len(rows), len(records), 1) + DELTA_MIN_FULL:
        return None
    if gone:
        now = {r.path for r in records}
        folders.update(p.rpartition("/")[0] for p in old if p not in now)
    return folders


def _unchanged(scan: _Scan, current: Current, *, scope: str) -> ScanResult:
    return ScanResult(
        "unchanged", current.number, str(current.path), current.file_count, current.tag_count,
        0, 0, 0, scan.seconds(), scan.stats.as_dict(), scope=scope,
    )


def _delta(
    scan: _Scan, current: Current, listings: dict[str, list[Record]]
) -> ScanResult | None:
    """Publish ``listings`` (touched folders and their files now) as a delta; None: no change."""
    scan.report({"phase": "comparing", "files": sum(len(v) for v in listings.values())})
    with reading(current.path) as conn:
        the_plan = delta.plan(conn, listings)
    if the_plan.empty:
        return None
    size = len(the_plan.added) + len(the_plan.removed) + len(the_plan.changed)
    if size > DELTA_MAX_SHARE * max(current.file_count, 1) + DELTA_MIN_FULL:
        raise NeedFullBuild(f"{size} files changed, a full build is cheaper")
    todo = the_plan.to_probe()
    fresh, probe_stats = _probe(scan, todo, len(todo))
    number = scan.cache.next_number()
    scan.report({"phase": "building", "files": current.file_count, "generation": number})
    tmp = scan.cache.tmp_path(number)
    tmp.unlink(missing_ok=True)
    try:
        how = delta.copy_file(current.path, tmp)
        conn = db.connect_build(tmp)
        try:
            applied = delta.apply(conn, the_plan, fresh, lambda c, counts: write_meta(
                c, number, scan.root, counts, _meta(scan, PROBE_VERSION, build="delta")))
        finally:
            conn.close()
        scan.report({"phase": "publishing", "files": applied.files})
        final = scan.cache.publish(tmp, number, durable=False)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    log.info("published generation %d as a delta of %d: +%d -%d ~%d files (%s)", number,
             current.number, len(the_plan.added), len(the_plan.removed),
             len(the_plan.changed), how)
    return ScanResult(
        "published", number, str(final), applied.files, applied.tags, len(the_plan.added),
        len(the_plan.removed), len(the_plan.changed), scan.seconds(), scan.stats.as_dict(),
        probe_stats.as_dict(), mode="delta",
        moves=moves.pair(((f.path, f.size, f.mtime_ns) for f in the_plan.removed),
                         the_plan.added),
    )


def _meta(scan: _Scan, probe_version: int, *, build: str) -> dict[str, object]:
    return {
        "scan_seconds": scan.seconds(),
        "skipped": scan.stats.skipped,
        "walk": scan.stats.as_dict(),
        "probe_version": probe_version,
        "build": build,
    }


def _full_build(
    scan: _Scan, current: Current | None, rows: list[tuple[str, int, int]],
    records: list[Record], *, defer_probing: bool,
) -> ScanResult:
    old = {path: (size, mtime_ns) for path, size, mtime_ns in rows}
    changed = 0
    fresh_records: list[Record] = []
    unchanged: set[str] = set()
    for rec in records:
        before = old.get(rec.path)
        if before is None:
            fresh_records.append(rec)
        elif before != (rec.size, rec.mtime_ns):
            changed += 1
        else:
            unchanged.add(rec.path)
    added = len(fresh_records)
    removed = len(old) - (len(records) - added)
    carried = probed(current.path, unchanged) if current is not None else {}
    retry_old = current is not None and current.probe_version < PROBE_VERSION
    todo = [r for r in records if r.path not in unchanged
            or (retry_old and r.path not in carried)]
    if defer_probing and current is None and sum(1 for r in todo if wants_probe(r)) > DEFER_OVER:
        # Nothing is browsable yet: publish the names first, probe in the next scan.
        fresh: dict[str, Probed] = {}
        probe_stats = ProbeStats(candidates=len(todo),
                                 deferred=sum(1 for r in todo if wants_probe(r)))
    else:
        fresh, probe_stats = _probe(scan, todo, len(records))
    carried.update(fresh)
    number = scan.cache.next_number()
    scan.report({"phase": "building", "files": len(records), "generation": number})
    built = build(
        scan.cache, number, records, root=scan.root, probed=carried,
        meta=_meta(scan, 0 if probe_stats.deferred else PROBE_VERSION, build="full"),
        phase=lambda name: scan.report({"phase": name, "files": len(records)}),
    )
    return ScanResult(
        "published", built.number, str(built.path), built.files, built.tags,
        added, removed, changed, scan.seconds(), scan.stats.as_dict(),
        probe_stats.as_dict(), mode="full",
        moves=moves.after_walk(rows, records, fresh_records) if removed else [],
    )


def _probe(scan: _Scan, todo: list[Record], files: int) -> tuple[dict[str, Probed], ProbeStats]:
    """Probe new and changed files (and, once, files an older prober never read)."""
    found, probe_stats = probe_records(
        scan.root, todo,
        progress=lambda done, total: scan.report(
            {"phase": "probing", "files": files, "done": done, "total": total}),
    )
    if probe_stats.failed:  # one line for them all; each file is at DEBUG
        not_media = (f", {probe_stats.rejected:,} of them not media files by their first bytes"
                     if probe_stats.rejected else "")
        log.info("could not read the metadata of %s of %s new or changed media files%s; e.g. %s",
                 f"{probe_stats.failed:,}", f"{probe_stats.failed + probe_stats.probed:,}",
                 not_media, "; ".join((probe_stats.examples or [])[:3])[:300])
    return found, probe_stats


def describe_failure(exc: BaseException) -> str:
    """One line a user can act on."""
    if isinstance(exc, MediasrvError):  # ScanFailed, an unwritable cache dir (UserError)
        return str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)
    ):
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
