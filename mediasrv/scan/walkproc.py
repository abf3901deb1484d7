"""A whole-tree walk in a process of its own, streamed folder by folder: both cores at work.

The walk is a stat per file and some Python per entry: 5 s of one core at a
million files. Run in a forked child (``walk.walk_folders``), it streams each
folder's files through a pipe in batches (``marshal``: plain tuples of str
and int, the cheapest way across), and the scan process meanwhile does what
needs no more than the folders found so far: the comparison with the current
generation on a rescan (``compare.py``), the natural-order keys on a cold
build (``fullbuild.Keys``). A failure in the child (``RootGone``, anything)
is raised again here; a child that dies fails the scan.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import marshal
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..errors import ScanFailed
from .walk import Record, WalkStats, walk_folders

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
BATCH = 20_000  # files a message carries at most (~1 MB): a steady stream, few messages
# The first message goes once this many files are found, and each next one holds
# twice as many, up to BATCH: a first walk's first part (progressive.FIRST_FILES)
# need not wait for the walk to reach BATCH, twice (the scan process knows that a
# folder is not the walk's last only once the next message has come).
FIRST_BATCH = 1_000
COUNTS = (  # WalkStats counts, in the order messages carry them
    "files",
    "folders",
    "unreadable",
    "vanished",
    "outside_links",
    "loops",
    "undecodable",
    "linked_folders",
    "errors",
)


def _send_walk(
    out: Connection, theirs: Connection, parent: int, root: Path, exclude: list[Path]
) -> None:
    """The child: walk, sending ("folders", [(folder, [tuple, ...]), ...], counts) batches,
    then ("done", counts, examples) or ("error", pickled exception)."""
    # Dies with the scan process. Before this an orphan (its parent killed by the
    # watchdog, kill -9, a server's shutdown) walked on, then blocked for ever on a
    # full pipe whose read end it held itself (fork's copy, ``theirs``), holding the
    # cache dir's scan lock (the next scan process waited for it for ever) and the
    # server's stderr pipe (the server's shutdown waited for its end for ever).
    theirs.close()
    die_with(parent)
    stats = WalkStats()
    try:
        batch: list[tuple[str, Sequence[tuple[str, int, int]]]] = []
        size, limit = 0, min(FIRST_BATCH, BATCH)
        # Plain tuples, as marshal sends them (a Record is not one), made as listed.
        for folder, records in walk_folders(root, exclude=exclude, stats=stats, cls=tuple):
            batch.append((folder, records))
            size += len(records) + 1
            if size >= limit:
                out.send_bytes(marshal.dumps(("folders", batch, counts_of(stats))))
                batch, size, limit = [], 0, min(2 * limit, BATCH)
        out.send_bytes(marshal.dumps(("folders", batch, counts_of(stats))))
        out.send_bytes(marshal.dumps(("done", counts_of(stats), stats.examples)))
    except BaseException as exc:  # raised again in the scan process
        # A closed pipe (its scan process killed, ahead of PR_SET_PDEATHSIG's signal):
        # nobody is left to tell, and a traceback would only clutter the server's log.
        with contextlib.suppress(OSError):
            out.send_bytes(marshal.dumps(("error", pickle.dumps(exc), [])))
    finally:
        out.close()


def die_with(parent: int) -> None:
    """SIGKILL this process when its parent ends (Linux's PR_SET_PDEATHSIG; elsewhere the
    closed read end makes its next send fail instead)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before prctl: nobody will read us
        os._exit(1)


def counts_of(stats: WalkStats) -> list[int]:
    return [getattr(stats, name) for name in COUNTS]


def _take(stats: WalkStats, counts: list[int]) -> None:
    for name, value in zip(COUNTS, counts, strict=True):
        setattr(stats, name, value)


def _drain(reader: Connection, arrived: queue.SimpleQueue[bytes | None]) -> None:
    """Every message of the child, then None (the pipe closed)."""
    try:
        while True:
            arrived.put(reader.recv_bytes())
    except (EOFError, OSError):
        arrived.put(None)
    finally:
        reader.close()


def walk_records(
    root: Path,
    *,
    exclude: list[Path] | None = None,
    stats: WalkStats | None = None,
    progress: Callable[[WalkStats], None] | None = None,
    progress_every: float = 0.2,
    folders: Callable[[str, list[Record]], None] | None = None,
) -> Iterator[Record]:
    """``walk.walk`` (a Record per file, ``progress`` between folders), walked in a
    forked child; ``folders`` is told each folder (its relative path) with its files
    before they are yielded. ``stats`` counts what has been yielded so far, and every
    count once the walk is done.

    No ``progress`` after the last folder: the walk is whole, so a first walk's part
    (``progressive.py``) made then would only repeat the complete index.
    """
    stats = stats if stats is not None else WalkStats()
    files = listed = 0
    next_report = time.monotonic() + progress_every
    walked = walk_in_process(root, exclude=exclude or [], stats=stats)
    pending = next(walked, None)
    while pending is not None:
        folder, records = pending
        if folders is not None:
            folders(folder, records)
        yield from records
        pending = next(walked, None)
        if pending is None:  # the walk is done and its counts are in
            return
        files, listed = files + len(records), listed + 1
        stats.files, stats.folders = files, listed
        if progress is not None and time.monotonic() >= next_report:
            progress(stats)
            next_report = time.monotonic() + progress_every


def walk_in_process(
    root: Path,
    *,
    exclude: list[Path],
    stats: WalkStats,
    progress: Callable[[WalkStats], None] | None = None,
    progress_every: float = 0.2,
) -> Iterator[tuple[str, list[Record]]]:
    """``walk.walk_folders`` of ``root``, walked in a forked child; ``stats`` has its files
    and folders after each batch, every count once the walk is done."""
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):  # else the child may flush a copy of what is buffered
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    child = context.Process(
        target=_send_walk,
        args=(writer, reader, os.getpid(), root, exclude),
        daemon=True,
        name="mediasrv-walk",
    )
    child.start()
    writer.close()
    make = functools.partial(tuple.__new__, Record)  # C calls only, no frame per file
    next_report = time.monotonic() + progress_every
    # A thread empties the pipe as it fills (recv waits without the GIL): the child
    # walks on while this process is busy with a folder or a first part (progressive.py).
    arrived: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(
        target=_drain, args=(reader, arrived), daemon=True, name="mediasrv-walk-reader"
    ).start()
    try:
        while True:
            raw = arrived.get()
            if raw is None:
                child.join(5)
                raise ScanFailed(
                    f"the walk process ended unexpectedly (exit status "
                    f"{child.exitcode}); nothing was published"
                ) from None
            message: Any = marshal.loads(raw)
            kind, payload, more = message
            if kind == "error":
                raise pickle.loads(payload)
            if kind == "done":
                _take(stats, payload)
                stats.examples[:] = more
                return
            for folder, rows in payload:
                yield folder, list(map(make, rows))
            stats.files, stats.folders = more[0], more[1]
            if progress is not None and time.monotonic() >= next_report:
                progress(stats)
                next_report = time.monotonic() + progress_every
    finally:
        if child.is_alive():  # the scan stopped early: the walk is of no use any more
            child.terminate()
        child.join(10)
