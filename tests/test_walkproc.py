"""The whole-tree walk in a process of its own (scan/walkproc.py): the same folders and files
as a walk in this process, its counts, its failures raised here."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediasrv.children import child_env
from mediasrv.errors import ScanFailed
from mediasrv.scan import walkproc
from mediasrv.scan.walk import Record, RootGone, WalkStats, walk_folders
from mediasrv.scan.walkproc import walk_in_process

from .support import make_tree, process_ended, until

TREE = {b"caf\xe9/\xff.jpg": b"1", "a/img1.jpg": b"22", "a/b/img2.jpg": b"333", "top.png": b""}


def test_the_same_folders_files_and_counts_as_a_walk_here(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", TREE)
    os.symlink("/", root / "out")  # a link out of the root: counted, not followed
    here, there = WalkStats(), WalkStats()
    expected = list(walk_folders(root, stats=here))
    found = list(walk_in_process(root, exclude=[], stats=there))
    assert found == expected
    assert all(type(r) is Record for _, records in found for r in records)
    assert sorted(r.path for _, records in found for r in records) == [
        "a/b/img2.jpg",
        "a/img1.jpg",
        "caf\udce9/\udcff.jpg",
        "top.png",
    ]
    assert there.as_dict() == here.as_dict()
    assert (there.files, there.folders, there.undecodable, there.outside_links) == (4, 4, 1, 1)


def test_many_batches_arrive_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walkproc, "BATCH", 3)
    root = make_tree(tmp_path / "lib", {f"d{i}/f{j}.jpg": "" for i in range(7) for j in range(2)})
    seen: list[int] = []
    stats = WalkStats()
    found = list(
        walk_in_process(
            root, exclude=[], stats=stats, progress=lambda s: seen.append(s.files), progress_every=0
        )
    )
    assert sum(len(records) for _, records in found) == stats.files == 14
    assert seen and seen == sorted(seen) and seen[-1] <= 14


def test_the_first_batches_are_small_so_a_first_part_need_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walkproc, "FIRST_BATCH", 3)
    monkeypatch.setattr(walkproc, "BATCH", 100)
    root = make_tree(tmp_path / "lib", {f"d{i}/f{j}.jpg": "" for i in range(7) for j in range(2)})
    seen: list[int] = []
    list(
        walk_in_process(
            root,
            exclude=[],
            stats=WalkStats(),
            progress=lambda s: seen.append(s.files),
            progress_every=0,
        )
    )
    # A message holds at least 3, 6, 12, 24 … entries (a folder and its files): the root
    # (no files) and d0; d1 and d2; the rest; the end (nothing more).
    assert seen == [2, 6, 14, 14]


def test_a_root_that_vanishes_mid_walk_fails_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "lib", {f"d{i}/f.jpg": "" for i in range(3)})
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # the child inherits this (fork)
        if path.endswith("d1"):
            root.rename(tmp_path / "away")
        return real_scandir(path)

    monkeypatch.setattr("mediasrv.scan.walk.os.scandir", scandir)
    with pytest.raises(RootGone, match="went away during the scan") as raised:
        list(walk_in_process(root, exclude=[], stats=WalkStats()))
    assert raised.value.root == os.path.realpath(root)


def test_a_walk_process_that_dies_fails_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "lib", {"a/f.jpg": ""})
    monkeypatch.setattr(walkproc, "walk_folders", lambda *a, **k: os._exit(3))
    with pytest.raises(ScanFailed, match=r"walk process ended unexpectedly \(exit status 3\)"):
        list(walk_in_process(root, exclude=[], stats=WalkStats()))


def test_records_with_progress_between_folders_but_none_after_the_last(tmp_path: Path) -> None:
    """A first walk's part made after the last folder would repeat the complete index."""
    root = make_tree(tmp_path / "lib", {f"d{i}/f{j}.jpg": "" for i in range(3) for j in range(2)})
    seen: list[tuple[int, int, int]] = []
    found: list[Record] = []
    stats = WalkStats()
    for record in walkproc.walk_records(
        root,
        stats=stats,
        progress_every=0,
        folders=lambda f, r: seen.append((0, len(r), 0)),
        progress=lambda s: seen.append((1, s.files, len(found))),
    ):
        found.append(record)
    # the root (no files), d0, d1, d2: progress after each but d2, with every file yielded
    assert seen == [(0, 0, 0), (1, 0, 0), (0, 2, 0), (1, 2, 2), (0, 2, 0), (1, 4, 4), (0, 2, 0)]
    assert (stats.files, stats.folders, len(found)) == (6, 4, 6)


STUCK_PARENT = """
import sys, threading
from pathlib import Path
from mediasrv.scan import walkproc
from mediasrv.scan.walk import WalkStats

def stuck(root, exclude, stats, cls):  # the child: says who it is, then never ends
    print(__import__("os").getpid(), flush=True)
    threading.Event().wait()
    yield from ()

walkproc.walk_folders = stuck
list(walkproc.walk_in_process(Path(sys.argv[1]), exclude=[], stats=WalkStats()))
"""



@pytest.mark.process
def test_the_walk_process_dies_with_its_parent(tmp_path: Path) -> None:
    """A scan process killed mid-walk (the watchdog, kill -9) takes its walk with it: an
    orphan walk held the cache dir's scan lock and the server's stderr pipe for ever."""
    root = make_tree(tmp_path / "lib", {"a/f.jpg": ""})
    with subprocess.Popen(
        [sys.executable, "-c", STUCK_PARENT, str(root)], stdout=subprocess.PIPE, env=child_env()
    ) as parent:
        try:
            assert parent.stdout is not None
            walker = int(parent.stdout.readline())
            assert not process_ended(walker)
        finally:  # whatever failed: never wait for a parent that waits for ever
            parent.kill()
    until(lambda: process_ended(walker), "the walk process to end with its parent")


def test_a_walk_whose_scan_process_is_gone_ends_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its pipe closed (the scan process killed): no error to send, and no traceback."""
    root = make_tree(tmp_path / "lib", {"a/f.jpg": ""})
    monkeypatch.setattr(walkproc, "die_with", lambda parent: None)  # this is no child
    reader, writer = multiprocessing.Pipe(duplex=False)
    reader.close()
    theirs, _ = multiprocessing.Pipe(duplex=False)
    walkproc._send_walk(writer, theirs, os.getpid(), root, [])  # raises nothing
    assert writer.closed and theirs.closed
