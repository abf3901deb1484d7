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
the server serves it at once. A prefix of staged files is built by a thread
beside the walk (its SQL runs without the GIL): the walk goes on staging
folders meanwhile, and no other prefix is started until it is published. Once
the walk is over, a prefix still being built is given up (``finish``): the
complete build comes next, and a late prefix only delayed it (the parts of
256k files and more at 1M files cost as much as a quarter of the complete
build). With ``GROWTH`` = 4 the prefixes together cost at most 4/3 of the
last one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import fullbuild
from .build import ScanRun, meta_of
from .staging import Staged

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


# The prefixes after the first cost at most this share of the scan's time, counting the
# one to start at the last one's cost per file: each holds the GIL part of its time, so
# staging slows while it is built (at 1M files a second prefix of 118k files, started
# 0.8 s into a 4 s walk when the first had cost little, took 5.4 s and slowed the walk
# to 7.5 s). A prefix that would cost more is cut short, at a folder, to what fits, if
# that is still GROWTH times the last. A fast walk gets its complete index sooner; a
# slower one (a cold disk, a network share) still gets prefixes as it goes.
PART_SHARE = 0.25
# Tests set this to have the walk wait for each prefix, so that prefixes are cut at
# folders they can name whatever the machine's speed.
WAIT_FOR_PARTS = False


@dataclass
class _Part:
    """A prefix being built by a thread: what it published, or why it did not."""

    number: int
    started: float
    ended: float | None = None  # when its build stopped, published or not
    thread: threading.Thread | None = None
    given_up: bool = False  # set by the walk's thread: the build's next SQL step stops it
    published: tuple[Path, int, int] | None = None  # (path, files, tags)
    error: BaseException | None = None


@dataclass
class Prefixes:
    """Publishes the files a first walk has found so far, growing geometrically."""

    scan: ScanRun
    shown: int = 0  # files in the newest generation served (an incomplete one from before)
    published: int = 0  # prefixes published by this walk
    seconds: float = 0.0  # spent building them
    per_file: float = 0.0  # seconds a file of the last prefix published cost
    first: int = 0  # files in the walk's folders up to the one that reached FIRST_FILES
    given_up: int = 0  # prefixes given up when the walk ended first
    _part: _Part | None = field(default=None, repr=False)

    def due(self, found: int, whole: Callable[[int], int]) -> int:
        """How many of the ``found`` files (a prefix of whole folders, in walk order) are
        worth a generation of their own now; 0: none yet. Asked after each folder;
        ``whole(n)``: the most files, at most n, of the first whole folders found."""
        self.poll()
        if self._part is not None:  # one at a time
            return 0
        if self.shown == 0:
            if not self.first and found >= max(FIRST_FILES, 1):
                self.first = found
            ready = time.perf_counter() - self.scan.started >= FIRST_AFTER_S
            return self.first if self.first and ready else 0
        room = PART_SHARE * (time.perf_counter() - self.scan.started) - self.seconds
        files = found
        if self.per_file * found > room:  # this one's cost foreseen: cut it to what fits
            files = whole(int(room / self.per_file)) if room > 0 else 0
        return files if files > self.shown and files >= GROWTH * self.shown else 0

    def publish(self, records: Staged, first: int | None = None) -> None:
        """Publish ``records`` (every file found so far, in walk order), or the ``first``
        of them, as an incomplete generation, built by a thread beside the walk, which
        reports it (reports are serialised by ``job.run_scan``)."""
        part = _Part(self.scan.cache.next_number(), time.perf_counter())
        self._part = part
        records.commit()  # the thread reads what was staged; the walk waits for that read
        records.free.clear()
        part.thread = threading.Thread(target=self._build, args=(part, records, first),
                                       name="mediasrv-part", daemon=True)
        try:
            part.thread.start()
        except BaseException:  # no thread: nobody would let the walk stage again
            records.free.set()
            self._part = None
            raise
        if WAIT_FOR_PARTS:
            part.thread.join()
            self.poll()

    def _build(self, part: _Part, records: Staged, first: int | None) -> None:
        scan = self.scan
        meta = {**meta_of(scan, 0, build="prefix"), "complete": 0}

        def opened(conn: sqlite3.Connection) -> None:
            # Asked by SQLite every so many steps, in this thread (an interrupt from the
            # walk's thread could reach the connection as it closes).
            conn.set_progress_handler(lambda: part.given_up, 10_000)

        def write(tmp: Path) -> tuple[int, int]:
            return fullbuild.write(tmp, part.number, records, root=scan.root, meta=meta,
                                   first=first, opened=opened, apart=False)

        try:
            # Not fsynced (as a delta is not): the complete generation will be, and
            # start-up checks set aside a file that a power cut left incomplete.
            final, (files, tags) = scan.cache.publish(part.number, write, durable=False)
            part.published = (final, files, tags)
            self._report(part, final, files, tags)  # at once: the walk may be held up
        except sqlite3.OperationalError as exc:
            if not part.given_up:
                part.error = exc
        except BaseException as exc:  # raised again by the walk's thread (poll)
            part.error = exc
        finally:
            part.ended = time.perf_counter()
            records.free.set()

    def poll(self) -> None:
        """Done with the prefix built beside the walk once its thread ended (its report
        was made as it was published): raise what failed it."""
        part = self._part
        if part is None or (part.thread is not None and part.thread.is_alive()):
            return
        self._part = None
        cost = (part.ended or time.perf_counter()) - part.started
        self.seconds += cost
        if part.published is not None:
            self.per_file = cost / max(part.published[1], 1)
        if part.error is not None:
            raise part.error
        if part.published is None:
            self.given_up += 1
            log.info("gave up generation %d, a part still being built when the walk ended",
                     part.number)

    def finish(self, *, give_up: bool = True) -> None:
        """The walk is over: give up the prefix still being built (``give_up``; else wait
        for it), or report it if it was published."""
        part = self._part
        if part is not None and part.thread is not None:
            part.given_up = give_up
            part.thread.join()
        self.poll()

    def _report(self, part: _Part, final: Path, files: int, tags: int) -> None:
        scan = self.scan
        self.shown, self.published = files, self.published + 1
        log.info(
            "published generation %d: the first %d files (walked: %d folders), in %.2f s",
            part.number,
            files,
            scan.stats.folders,
            time.perf_counter() - part.started,
        )
        scan.report(
            {
                "phase": "walking",
                "files": scan.stats.files,
                "folders": scan.stats.folders,
                "published": {
                    "generation": part.number,
                    "db_path": str(final),
                    "files": files,
                    "tags": tags,
                },
            }
        )
