"""``mediasrv scan`` (build and publish a generation, print a summary) and ``mediasrv db-path``."""

from __future__ import annotations

import sqlite3
import sys
from typing import TextIO

from ..errors import UserError
from ..index.cachedir import CacheDir, LockBusy
from ..names import display
from ..settings import Settings
from .progress import ProgressLine


def db_path(settings: Settings, out: TextIO = sys.stdout) -> int:
    cache = CacheDir(settings.resolved_cache_dir())
    if cache.current_target() is None:
        raise UserError(
            f"no index yet for {display(str(settings.root))}; run: mediasrv scan "
            f"{display(str(settings.root))}"
        )
    print(display(str(cache.current)), file=out)
    return 0


def scan(settings: Settings, out: TextIO = sys.stdout) -> int:
    from ..scan.job import disk_full, run_scan

    cache = CacheDir(settings.resolved_cache_dir())
    cache.ensure()
    progress = ProgressLine(sys.stderr)
    try:
        result = run_scan(settings.root, cache, progress, full=settings.full)
    except (OSError, sqlite3.Error) as exc:
        progress.done()
        if disk_full(exc):
            raise UserError(f"scan failed: the disk holding {cache.path} is full") from exc
        raise UserError(f"scan failed: {exc}") from exc
    progress.done()
    walk = result.walk
    skipped = walk.get("skipped", 0)
    if result.status == "unchanged":
        print(f"no change: generation {result.generation} is current "
              f"({result.files:,} files, {result.tags:,} tags, {result.duration_s:.2f}s)", file=out)
    else:
        how = "built in full" if result.mode == "full" else "a delta of the last one"
        print(f"generation {result.generation}: {result.files:,} files, {result.tags:,} tags "
              f"in {result.duration_s:.2f}s, {how} (added {result.added:,}, "
              f"removed {result.removed:,}, changed {result.changed:,})", file=out)
    if skipped:
        print(f"skipped {skipped:,} entries (unreadable {walk['unreadable']}, vanished "
              f"{walk['vanished']}, links outside the root {walk['outside_links']}, "
              f"errors {walk['errors']}); see the log above", file=out)
    probe = result.probe
    if probe.get("probed") or probe.get("failed"):
        rejected = probe.get("rejected") or 0
        print(f"probed {probe['probed']:,} new or changed files"
              + (f"; {probe['failed']:,} could not be read (corrupt or unsupported"
                 + (f"; {rejected:,} of them not media at all" if rejected else "") + ")"
                 if probe.get("failed") else "")
              + f" in {float(str(probe.get('seconds') or 0)):.2f}s", file=out)
    print(f"index: {display(str(cache.current))}", file=out)
    remove_old_generations(cache)
    return 0


def remove_old_generations(cache: CacheDir) -> None:
    """Delete generations older than the current one, unless a server serves this cache.

    A server (it holds serve.lock) deletes what it no longer reads itself.
    Followers need no say: they keep reading a deleted file they have open,
    and move on to the current one.
    """
    try:
        with cache.lock("serve", wait=False):
            cache.remove_stale_generations(set())
    except LockBusy:
        pass
