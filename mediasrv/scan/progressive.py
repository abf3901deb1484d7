"""A first walk published as it goes: growing prefixes of the walk, each built in full.

Without a usable generation (an empty cache, or a generation that a first
walk published part-way before it was stopped) nothing is browsable until
the whole tree is walked and built: a minute at a million files. So while
such a walk goes, ``Prefixes`` publishes what it has found so far (looked
at after each folder): first, once the scan has run ``FIRST_AFTER_S``, the
walk's first folders up to the one that brought it to ``FIRST_FILES``
(however many it has found by then: a small first part is built in a few
tens of ms, and all the first part has to do is to be there), then each time
it has found ``GROWTH`` times as many files as the last published generation
holds, everything found. Each of them is a full build of a prefix of the
walk (natural order exact, counts those of a full build of those files),
names only (probing waits for the complete index), written with meta
``complete`` = 0; ``build.publish_tree`` publishes the last one, complete, as
before. Why prefixes built in full rather than deltas: docs/DESIGN.md,
"Progressive first index".

Each publish is reported as a progress event with a ``published`` key, so
the server serves it at once. The walk waits while a prefix is built (the
scan process does one thing at a time): with ``GROWTH`` = 4 the prefixes
together cost at most 4/3 of the last one (0.44 of the final build at 1M).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from . import fullbuild
from .build import ScanRun, meta_of
from .staging import Staged
from .walk import Record

log = logging.getLogger(__name__)

# The next prefix is published once the walk has found this many times the files
# of the last one: all of them cost at most GROWTH/(GROWTH-1) times the last one.
GROWTH = 4
# The first is published once the scan has run this long and found this many files,
# cut after the folder that brought the walk to that many: a library walked in
# FIRST_AFTER_S, or smaller than FIRST_FILES, is published once, complete. A part of
# 1,000 files is built in ~40 ms (10,000: ~0.3 s), and shows a page of a grid.
FIRST_AFTER_S = 0.1
FIRST_FILES = 1_000


@dataclass
class Prefixes:
    """Publishes the files a first walk has found so far, growing geometrically."""

    scan: ScanRun
    shown: int = 0  # files in the newest generation served (an incomplete one from before)
    published: int = 0  # prefixes published by this walk
    seconds: float = 0.0  # spent building them
    first: int = 0  # files in the walk's folders up to the one that reached FIRST_FILES

    def due(self, found: int) -> int:
        """How many of the ``found`` files (a prefix of whole folders, in walk order) are
        worth a generation of their own now; 0: none yet. Asked after each folder."""
        if self.shown == 0:
            if not self.first and found >= max(FIRST_FILES, 1):
                self.first = found
            ready = time.perf_counter() - self.scan.started >= FIRST_AFTER_S
            return self.first if self.first and ready else 0
        return found if found > self.shown and found >= GROWTH * self.shown else 0

    def publish(self, records: list[Record] | Staged, first: int | None = None) -> None:
        """Publish ``records`` (every file found so far, in walk order), or the ``first``
        of them, as an incomplete generation and report it."""
        scan, started = self.scan, time.perf_counter()
        number = scan.cache.next_number()
        meta = {**meta_of(scan, 0, build="prefix"), "complete": 0}

        def write(tmp: Path) -> tuple[int, int]:
            return fullbuild.write(tmp, number, records, root=scan.root, meta=meta, first=first)

        # Not fsynced (as a delta is not): the complete generation will be, and
        # start-up checks set aside a file that a power cut left incomplete.
        final, (files, tags) = scan.cache.publish(number, write, durable=False)
        self.shown, self.published = files, self.published + 1
        self.seconds += time.perf_counter() - started
        log.info(
            "published generation %d: the first %d files (walked: %d folders), in %.2f s",
            number,
            files,
            scan.stats.folders,
            time.perf_counter() - started,
        )
        scan.report(
            {
                "phase": "walking",
                "files": scan.stats.files,
                "folders": scan.stats.folders,
                "published": {
                    "generation": number,
                    "db_path": str(final),
                    "files": files,
                    "tags": tags,
                },
            }
        )
