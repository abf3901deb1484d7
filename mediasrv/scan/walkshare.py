"""One walk of the whole tree by several processes sharing its folders: both cores at work.

A no-change rescan is a walk and nothing else, and a walk in one process
is Python's ``scandir`` + ``stat`` per entry: a bare one already costs 1.45x
``find``. Here ``WALKERS`` forked children walk the tree together. Each walks
depth-first from a stack of its own; one that runs out waits, and a busy one
hands it the bottom half of its stack (the shallowest folders, the biggest
subtrees) through a queue: work stealing, balanced whatever the tree's shape,
and one shared-memory read per folder while nobody waits.

Each folder goes to the scan process as (relative path, (st_dev, st_ino),
its files as (path, size, mtime_ns) tuples sorted and ``marshal``-ed with
version 2, which writes no back-references: the same files give the same
bytes, so the scan process compares a folder with the current generation
as one bytes comparison (``rescan.py``).

Which path wins when one folder is reached twice (a symlinked folder, a bind
mount) depends on the order folders are met in, which walkers sharing the
tree do not keep. So a walker that meets a symlinked folder stops, and so
does the walk when one folder arrives twice, with ``NeedOneWalker``: the
caller walks again with one walker (``walkproc.py``), whose order decides,
as before.
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ScanFailed
from ..names import display
from .walk import RootGone, WalkStats, list_folder
from .walkproc import COUNTS, counts_of, die_with

log = logging.getLogger(__name__)

WALKERS = 2  # the machines this is written for have 2 to 4 cores, and the server is idle
BATCH = 20_000  # files a message carries at most

Folder = tuple[str, str, tuple[int, int]]  # where it is, its relative path + '/', its key


class NeedOneWalker(Exception):
    """The tree has a folder reachable twice: one walker's order must decide its path."""


class _Shared(NamedTuple):
    handed: Any  # multiprocessing Queue of stack halves handed to a waiting walker
    cond: Any  # multiprocessing Condition guarding the three counts
    queued: Any  # halves in the queue, not yet taken
    active: Any  # walkers holding work; 0 with nothing queued: the walk is done
    waiting: Any  # walkers waiting for work (read without the lock, as a hint)


def _take_work(shared: _Shared) -> list[Folder]:
    """A half handed over by a busy walker; [] when the whole walk is done."""
    with shared.cond:
        shared.active.value -= 1
        while not shared.queued.value:
            if not shared.active.value:  # nobody holds work and none is queued: done
                shared.cond.notify_all()
                return []
            shared.waiting.value += 1
            shared.cond.wait()
            shared.waiting.value -= 1
        shared.queued.value -= 1
        shared.active.value += 1
    got: list[Folder] = shared.handed.get()
    return got


def _hand_over(shared: _Shared, stack: list[Folder]) -> None:
    half = len(stack) // 2
    shared.handed.put(stack[:half])  # a feeder thread writes it: put never blocks
    del stack[:half]
    with shared.cond:
        shared.queued.value += 1
        shared.cond.notify()


def _walk_part(
    out: Connection,
    shared: _Shared,
    root: Path,
    exclude: list[Path],
    first: bool,
    stats: WalkStats,
) -> None:
    """One walker: folders from its own stack, or handed over when it runs out."""
    root_real = os.path.realpath(root)
    excluded = {os.path.realpath(p) for p in exclude}
    stack: list[Folder] = []
    if first:  # the root, as walk.walk_folders starts
        try:
            st = os.stat(root_real)
        except OSError as exc:
            if not os.path.isdir(root_real):
                raise RootGone(root_real) from exc
            stats.note("unreadable", str(root), exc)
        else:
            stack.append((root_real, "", (st.st_dev, st.st_ino)))
    batch: list[tuple[str, tuple[int, int], bytes]] = []
    size = 0
    waiting, queued, dumps = shared.waiting, shared.queued, marshal.dumps
    while True:
        if not stack:
            out.send_bytes(dumps(("folders", batch, counts_of(stats))))
            batch, size = [], 0
            stack = _take_work(shared)
            if not stack:
                return
        folder, prefix, key = stack.pop()
        listed = list_folder(folder, prefix, root_real, excluded, stats, tuple)
        if listed is None:
            continue
        rows, subfolders = listed
        rows.sort()
        batch.append((prefix[:-1], key, dumps(rows, 2)))
        size += len(rows) + 1
        for sub in subfolders:
            if sub.linked:
                raise NeedOneWalker(f"a symlinked folder: {display(sub.rel)}")
            stack.append((sub.real, sub.rel + "/", sub.key))
        if size >= BATCH:
            out.send_bytes(dumps(("folders", batch, counts_of(stats))))
            batch, size = [], 0
        if waiting.value > queued.value and len(stack) > 1:
            _hand_over(shared, stack)


def _walker(
    out: Connection, theirs: list[Connection], parent: int, shared: _Shared, root: Path,
    exclude: list[Path], first: bool,
) -> None:
    """A child: ("folders", [(folder, key, rows), ...], counts) messages, then
    ("done", counts, examples) or ("error", pickled exception, [])."""
    # Dies with the scan process, as the one walker does (walkproc._send_walk): fork's
    # copies of the read ends (its own among them) would keep an orphan blocked on a
    # full pipe for ever, holding the cache dir's scan lock.
    for reader in theirs:
        reader.close()
    die_with(parent)
    stats = WalkStats()
    try:
        _walk_part(out, shared, root, exclude, first, stats)
        out.send_bytes(marshal.dumps(("done", counts_of(stats), stats.examples)))
    except BaseException as exc:  # raised again in the scan process
        with contextlib.suppress(OSError):  # a closed pipe: nobody is left to tell
            out.send_bytes(marshal.dumps(("error", pickle.dumps(exc), [])))
    finally:
        out.close()


def _drain(
    reader: Connection, arrived: queue.SimpleQueue[tuple[int, bytes | None]], index: int
) -> None:
    try:
        while True:
            arrived.put((index, reader.recv_bytes()))
    except (EOFError, OSError):
        arrived.put((index, None))
    finally:
        reader.close()


class SharedWalk:
    """``walkers`` children walking ``root`` from the moment this is made; iterate it
    for (relative folder path, marshal-ed sorted rows) as they arrive, in no set order.

    ``stats`` has the files and folders so far after each message, and every count
    (summed over the walkers) and up to 20 examples once the iteration ends.
    """

    def __init__(
        self, root: Path, *, exclude: list[Path], stats: WalkStats, walkers: int = WALKERS
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.stats = stats
        self.shared = _Shared(
            context.Queue(),
            context.Condition(),
            context.RawValue("i", 0),
            context.RawValue("i", walkers),
            context.RawValue("i", 0),
        )
        for stream in (sys.stdout, sys.stderr):  # else a child may flush a copy of the buffer
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        self.listed_by: list[int] = []  # folders each walker listed, once the walk is done
        self.arrived: queue.SimpleQueue[tuple[int, bytes | None]] = queue.SimpleQueue()
        self.children = []
        readers: list[Connection] = []
        for index in range(walkers):
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(
                target=_walker,
                name=f"mediasrv-walk-{index}",
                daemon=True,
                args=(writer, [*readers, reader], os.getpid(), self.shared, root, exclude,
                      index == 0),
            )
            child.start()
            writer.close()  # before the next fork: each pipe's end is the walker's alone
            self.children.append(child)
            readers.append(reader)
        for index, reader in enumerate(readers):  # threads after the forks, not copied in them
            threading.Thread(
                target=_drain,
                args=(reader, self.arrived, index),
                daemon=True,
                name=f"mediasrv-walk-reader-{index}",
            ).start()

    def folders(
        self, progress: Callable[[WalkStats], None] | None = None, progress_every: float = 0.2
    ) -> Iterator[tuple[str, bytes]]:
        counts = [[0] * len(COUNTS) for _ in self.children]
        examples: list[list[str]] = [[] for _ in self.children]
        done: set[int] = set()
        seen: set[tuple[int, int]] = set()
        next_report = time.monotonic() + progress_every
        while len(done) < len(self.children):
            index, raw = self.arrived.get()
            if raw is None:
                if index in done:
                    continue
                child = self.children[index]
                child.join(5)
                raise ScanFailed(
                    f"a walk process ended unexpectedly (exit status "
                    f"{child.exitcode}); nothing was published"
                )
            kind, payload, more = marshal.loads(raw)
            if kind == "error":
                raise pickle.loads(payload)
            if kind == "done":
                done.add(index)
                counts[index], examples[index] = payload, more
                continue
            for folder, key, rows in payload:
                if key in seen:  # a bind mount, or a hard-linked folder
                    raise NeedOneWalker(f"a folder reached twice: {display(folder)}")
                seen.add(key)
                yield folder, rows
            counts[index] = more
            self.stats.files, self.stats.folders = (sum(c[i] for c in counts) for i in (0, 1))
            if progress is not None and time.monotonic() >= next_report:
                progress(self.stats)
                next_report = time.monotonic() + progress_every
        self.listed_by = [c[1] for c in counts]
        for name, *values in zip(COUNTS, *counts, strict=True):
            setattr(self.stats, name, sum(values))
        self.stats.examples[:] = [e for walker in examples for e in walker][:20]

    def close(self) -> None:
        """Stop any walker still running (the scan stopped early, or failed)."""
        for child in self.children:
            if child.is_alive():
                child.terminate()
        for child in self.children:
            child.join(10)

    def __enter__(self) -> SharedWalk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
