"""A scan's second half: from what was looked at to a published generation.

``job.py`` decides what to look at and lists it; ``publish_region`` (only
the folders changed paths touched) and ``publish_tree`` (the whole tree)
decide here whether anything changed and how the next generation is made:
as a delta of the current one (``delta/``: copy the file, patch the changed
rows) when the change is small enough and a delta can be written, else in
full (``fullbuild.py``). Either way what is new is probed (``probe.py``), the
file is published by ``CacheDir.publish``, and a ``ScanResult`` says what
was done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..index import db
from ..index.cachedir import CacheDir
from ..index.current import Current
from ..index.filerows import Probed, write_meta
from . import compare, delta, fullbuild, moves
from .fallback import NeedFullBuild, NeedFullWalk
from .probe import DEFER_OVER, PROBE_VERSION, ProbeStats, probe_records, wants_probe
from .staging import Staged
from .walk import Record, WalkStats

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, object]], None]
Rows = list[tuple[str, int, int]]  # (path, size, mtime_ns) of the current generation's files


# A change of more than this share of the library (plus DELTA_MIN_FULL files)
# is built in full. Measured at 100k files (docs/BENCHMARKS.md, "Delta or
# full build"), a delta of 50,000 new files still took a third of a full
# build's time; past half the library a full build also repacks the ids.
DELTA_MAX_SHARE = 0.5
DELTA_MIN_FULL = 2_000


def small_enough_for_delta(changed: int, files: int) -> bool:
    """Whether ``changed`` files of a library of ``files`` are built as a delta."""
    return changed <= DELTA_MAX_SHARE * max(files, 1) + DELTA_MIN_FULL


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
class ScanRun:
    """One run of ``job.run_scan``: what every step needs."""

    root: str  # real path of the root
    cache: CacheDir
    report: Progress
    started: float
    stats: WalkStats = field(default_factory=WalkStats)

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def publish_region(
    scan: ScanRun, current: Current, listings: dict[str, list[Record]]
) -> ScanResult:
    """Publish the touched folders' ``listings`` as a delta of ``current``.

    Without the rest of the tree there is nothing to build in full from:
    when a delta will not do, NeedFullWalk.
    """
    if current.probe_version < PROBE_VERSION:
        raise NeedFullWalk("the index predates this prober: every file is looked at again")
    try:
        result = _delta(scan, current, listings)
    except NeedFullBuild as exc:
        raise NeedFullWalk(str(exc)) from exc
    if result is None:
        return _unchanged(scan, current, scope="paths")
    result.scope = "paths"
    return result


def publish_tree(
    scan: ScanRun, current: Current | None, records: list[Record] | Staged, *,
    defer_probing: bool, rebuild: bool = False, comparison: compare.Comparison | None = None,
) -> ScanResult:
    """Publish what a walk of the whole tree found, as a delta when it is small enough.

    ``rebuild`` publishes a full build even when nothing changed.
    ``comparison``: ``current`` already compared with the walk folder by folder
    (``compare.py``); made here from ``records`` when not. ``records`` are
    staged in a file (``staging.py``) when the walk was made for a build in full.
    """
    scan.report({"phase": "comparing", "files": len(records)})
    if current is not None and current.probe_version >= PROBE_VERSION and not rebuild:
        if comparison is None:
            comparison = compare.compared(current.conn, list(records))
        if comparison.same:
            return _unchanged(scan, current, scope="all")
        if small_enough_for_delta(comparison.differ, max(current.file_count, len(records))):
            try:
                result = _delta(scan, current, comparison.listings())
            except NeedFullBuild as exc:
                log.info("building the index in full: %s", exc)
            else:
                if result is not None:
                    return result
    rows = current.file_stats() if current is not None else []
    return _full(scan, current, rows, records, defer_probing=defer_probing)


def _unchanged(scan: ScanRun, current: Current, *, scope: str) -> ScanResult:
    return ScanResult(
        "unchanged", current.number, str(current.path), current.file_count, current.tag_count,
        0, 0, 0, scan.seconds(), scan.stats.as_dict(), scope=scope,
    )


def _delta(
    scan: ScanRun, current: Current, listings: dict[str, list[Record]]
) -> ScanResult | None:
    """Publish ``listings`` (touched folders and their files now) as a delta; None: no change."""
    scan.report({"phase": "comparing", "files": sum(len(v) for v in listings.values())})
    the_plan = delta.plan(current.conn, listings)
    if the_plan.empty:
        return None
    size = len(the_plan.added) + len(the_plan.removed) + len(the_plan.changed)
    if not small_enough_for_delta(size, current.file_count):
        raise NeedFullBuild(f"{size} files changed, a full build is cheaper")
    todo = the_plan.to_probe()
    fresh, probe_stats = _probe(scan, todo, len(todo))
    number = scan.cache.next_number()
    scan.report({"phase": "building", "files": current.file_count, "generation": number})

    def write(tmp: Path) -> tuple[str, delta.Applied]:
        how = delta.copy_file(current.path, tmp)
        conn = db.connect_build(tmp)
        try:
            applied = delta.apply(conn, the_plan, fresh, lambda c, counts: write_meta(
                c, number, scan.root, counts, meta_of(scan, PROBE_VERSION, build="delta")))
        finally:
            conn.close()
        scan.report({"phase": "publishing", "files": applied.files})
        return how, applied

    final, (how, applied) = scan.cache.publish(number, write, durable=False)
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


def meta_of(scan: ScanRun, probe_version: int, *, build: str) -> dict[str, object]:
    return {
        "scan_seconds": scan.seconds(),
        "skipped": scan.stats.skipped,
        "walk": scan.stats.as_dict(),
        "probe_version": probe_version,
        "build": build,
        "complete": 1,  # every file the walk found (progressive.py publishes 0 part-way)
    }


def _full(
    scan: ScanRun, current: Current | None, rows: Rows, records: list[Record] | Staged, *,
    defer_probing: bool,
) -> ScanResult:
    old = {path: (size, mtime_ns) for path, size, mtime_ns in rows}
    changed = added = 0
    # New files, kept only when the generation had files: moves pair them with those gone.
    fresh_records: list[Record] = []
    same: set[str] = set()  # files as they were: their metadata is carried over
    for rec in records if old else ():  # without old rows, every file is new
        before = old.get(rec.path)
        if before is None:
            added += 1
            if old:
                fresh_records.append(rec)
        elif before != (rec.size, rec.mtime_ns):
            changed += 1
        else:
            same.add(rec.path)
    added = added if old else len(records)
    removed = len(old) - (len(records) - added)
    carried = current.probed(same) if current is not None else {}
    retry_old = current is not None and current.probe_version < PROBE_VERSION
    first = current is None or not current.complete  # nothing or part of it is browsable
    fresh, probe_stats = _probe_new(
        scan, records, lambda r: r.path not in same or (retry_old and r.path not in carried),
        defer=defer_probing and first, all_new=not same)
    carried.update(fresh)
    number = scan.cache.next_number()
    scan.report({"phase": "building", "files": len(records), "generation": number})
    started = time.perf_counter()

    def write(tmp: Path) -> tuple[int, int]:
        counts = fullbuild.write(
            tmp, number, records, root=scan.root, probed=carried,
            meta=meta_of(scan, 0 if probe_stats.deferred else PROBE_VERSION, build="full"),
            phase=lambda name: scan.report({"phase": name, "files": len(records)}))
        scan.report({"phase": "publishing", "files": len(records)})
        return counts

    final, (files, tags) = scan.cache.publish(number, write)
    log.info("published generation %d: %d files, %d tags in %.2fs", number, files, tags,
             time.perf_counter() - started)
    return ScanResult(
        "published", number, str(final), files, tags, added, removed, changed, scan.seconds(),
        scan.stats.as_dict(), probe_stats.as_dict(), mode="full",
        moves=moves.after_walk(rows, records, fresh_records) if removed else [],
    )


def _probe_new(
    scan: ScanRun, records: list[Record] | Staged, needs: Callable[[Record], bool], *,
    defer: bool, all_new: bool = False,
) -> tuple[dict[str, Probed], ProbeStats]:
    """Probe the ``records`` that ``needs`` (new, changed, or never read by this prober).

    Only those a prober can read are listed (a cold build of empty or non-media
    files holds none), and none when ``defer`` (nothing is browsable yet) and
    there are more than ``DEFER_OVER``: then the names are published first and
    the next scan probes. ``all_new``: ``needs`` holds for every record.
    """
    candidates = wanted = 0
    todo: list[Record] = []  # when deferring, no more than DEFER_OVER: one pass either way
    if all_new and isinstance(records, Staged):
        # Staging counted the media files as the walk listed them (``Staged.media``): no
        # pass over every file to find none (it cost ~2 s at 1M empty files), and when
        # there are some, only the files that are not empty are read back.
        candidates, wanted = len(records), records.media
        if wanted and not (defer and wanted > DEFER_OVER):
            todo = [rec for rec in records.sized() if wants_probe(rec)]
    else:
        for rec in records:
            if needs(rec):
                candidates += 1
                if wants_probe(rec):
                    wanted += 1
                    if not defer or wanted <= DEFER_OVER:
                        todo.append(rec)
    if defer and wanted > DEFER_OVER:
        return {}, ProbeStats(candidates=candidates, deferred=wanted)
    fresh, probe_stats = _probe(scan, todo, len(records))
    # counted as probe_records counts the files it is given and cannot read
    probe_stats.candidates = candidates
    probe_stats.skipped += candidates - len(todo)
    return fresh, probe_stats


def _probe(scan: ScanRun, todo: list[Record], files: int) -> tuple[dict[str, Probed], ProbeStats]:
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
