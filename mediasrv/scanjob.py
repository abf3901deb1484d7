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

from . import db
from .builder import Probed, build
from .cache import CacheDir
from .errors import ScanFailed
from .names import display
from .probe import DEFER_OVER, PROBE_VERSION, ProbeStats, probe_records, wants_probe
from .scanner import Record, WalkStats, walk

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, object]], None]


@dataclass
class ScanResult:
    """What a finished scan did. ``status`` is ``published`` or ``unchanged``."""

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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _previous(path: Path) -> tuple[int, int, list[tuple[str, int, int]]] | None:
    """(generation, tag count, [(path, size, mtime_ns)]) of a usable generation."""
    try:
        meta = db.validate(path, thorough=False)
        conn = db.connect_ro(path)
        try:
            rows = db.fetch_all_exact(conn, "SELECT path, size, mtime_ns FROM files")
        finally:
            conn.close()
    except (db.InvalidGeneration, sqlite3.Error) as exc:
        log.warning("not reusing %s: %s", path, exc)
        return None
    return int(str(meta["generation"])), int(str(meta.get("tag_count", 0))), rows


def _probed(path: Path, keep: set[str]) -> dict[str, Probed]:
    """Probed metadata of the files in ``keep`` (unchanged since ``path`` was built)."""
    try:
        conn = db.connect_ro(path)
        try:
            rows = conn.execute(
                "SELECT path, width, height, duration, thumb_key FROM files WHERE"
                " width IS NOT NULL OR duration IS NOT NULL OR thumb_key IS NOT NULL"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("not carrying metadata over from %s: %s", path, exc)
        return {}
    return {r[0]: Probed(*r[1:]) for r in rows if r[0] in keep}


def run_scan(root: Path, cache: CacheDir, progress: Progress | None = None, *,
             defer_probing: bool = False, paths: Sequence[str] | None = None,
             full: bool = False) -> ScanResult:
    """Scan ``root`` and publish a new generation if anything changed.

    With ``defer_probing``, a first scan of a big library publishes before it
    probes (the result says ``probe.deferred``); the next scan probes.
    """
    del paths, full  # targeted and full scans: the delta builder (issue 10) gives them meaning
    started = time.perf_counter()
    report = progress or (lambda event: None)
    root_real = os.path.realpath(root)
    try:
        # An unmounted drive or a renamed root must not become an empty index.
        with os.scandir(root_real):
            pass
    except OSError as exc:
        raise ScanFailed(
            f"cannot read the library root {display(str(root))}: {exc.strerror or exc}"
        ) from exc
    cache.ensure()
    with cache.lock("scan", wait=True):
        report({"phase": "walking", "files": 0})
        current = cache.current_target()
        previous = _previous(current) if current is not None and current.exists() else None
        stats = WalkStats()
        records: list[Record] = list(
            walk(
                Path(root_real),
                exclude=[cache.path],
                stats=stats,
                progress=lambda s: report({"phase": "walking", "files": s.files}),
            )
        )
        report({"phase": "comparing", "files": len(records)})
        rows = previous[2] if previous else []
        # Records are (path, size, mtime_ns) tuples like the rows: when
        # nothing changed (the usual rescan) one comparison in C says so.
        same = len(rows) == len(records) and set(rows) == set(records)
        old = {} if same else {path: (size, mtime_ns) for path, size, mtime_ns in rows}
        added = changed = 0
        unchanged: set[str] = set()
        for rec in () if same else records:
            before = old.get(rec.path)
            if before is None:
                added += 1
            elif before != (rec.size, rec.mtime_ns):
                changed += 1
            else:
                unchanged.add(rec.path)
        removed = 0 if same else len(old) - (len(records) - added)

        if (previous is not None and current is not None and not (added or removed or changed)
                and _probe_version(current) >= PROBE_VERSION):  # else: probe what was never probed
            return ScanResult(
                "unchanged", previous[0], str(current), len(records), previous[1],
                0, 0, 0, round(time.perf_counter() - started, 3), stats.as_dict(),
            )

        if same:  # unchanged, but to be probed again: every file keeps what it had
            unchanged = {rec.path for rec in records}
        carried = _probed(current, unchanged) if previous and current else {}
        fresh, probe_stats = _probe_new(root_real, records, unchanged, carried, current, report,
                                        defer=defer_probing)
        carried.update(fresh)
        number = cache.next_number()
        report({"phase": "building", "files": len(records), "generation": number})
        built = build(
            cache, number, records, root=root_real, probed=carried,
            meta={
                "scan_seconds": round(time.perf_counter() - started, 3),
                "skipped": stats.skipped,
                "walk": stats.as_dict(),
                "probe_version": 0 if probe_stats.deferred else PROBE_VERSION,
            },
            phase=lambda name: report({"phase": name, "files": len(records)}),
        )
    return ScanResult(
        "published", built.number, str(built.path), built.files, built.tags,
        added, removed, changed, round(time.perf_counter() - started, 3), stats.as_dict(),
        probe_stats.as_dict(),
    )


def _probe_new(
    root: str, records: list[Record], unchanged: set[str], carried: dict[str, Probed],
    current: Path | None, report: Progress, *, defer: bool = False,
) -> tuple[dict[str, Probed], ProbeStats]:
    """Probe new and changed files (and, once, files an older prober never read)."""
    retry_old = current is not None and _probe_version(current) < PROBE_VERSION
    todo = [r for r in records if r.path not in unchanged
            or (retry_old and r.path not in carried)]
    if defer and current is None:
        # Nothing is browsable yet: publish the names first, probe in the next scan.
        media = sum(1 for r in todo if wants_probe(r))
        if media > DEFER_OVER:
            return {}, ProbeStats(candidates=len(todo), deferred=media)
    found, probe_stats = probe_records(
        root, todo,
        progress=lambda done, total: report(
            {"phase": "probing", "files": len(records), "done": done, "total": total}),
    )
    if probe_stats.failed:
        log.warning("could not read the metadata of %d of %d new or changed media files, e.g. %s",
                    probe_stats.failed, probe_stats.failed + probe_stats.probed,
                    "; ".join(probe_stats.examples or [])[:300])
    return found, probe_stats


def _probe_version(path: Path) -> int:
    """The prober version that built generation ``path`` (0: built without probing)."""
    try:
        conn = db.connect_ro(path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'probe_version'").fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 0
    except (sqlite3.Error, ValueError, TypeError):
        return 0


def describe_failure(exc: BaseException) -> str:
    """One line a user can act on."""
    if isinstance(exc, ScanFailed):
        return str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)
    ):
        return f"the disk is full ({exc}); the previous index is still served"
    return f"{type(exc).__name__}: {exc}"


def lower_priority() -> None:
    """Yield the CPU and the disk to the server: a scan is background work."""
    with contextlib.suppress(OSError):
        os.nice(19)
    ionice = shutil.which("ionice")
    if ionice:  # idle I/O class; best effort, the kernel may not support it
        import subprocess

        subprocess.run([ionice, "-c", "3", "-p", str(os.getpid())], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
