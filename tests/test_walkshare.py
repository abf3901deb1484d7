"""Several walker processes sharing one tree (scan/walkshare.py): the same folders, files and
counts as one walk in this process, whatever the tree; failures raised here."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.children import child_env
from mediasrv.errors import ScanFailed
from mediasrv.scan import walk as walk_module
from mediasrv.scan import walkshare
from mediasrv.scan.walk import RootGone, Subfolder, WalkStats, walk_folders
from mediasrv.scan.walkshare import NeedOneWalker, SharedWalk

from .support import make_tree, process_ended, until

Tree = dict[str | bytes, bytes | str]


def one_walk(
    root: Path, exclude: list[Path]
) -> tuple[dict[str, list[tuple[str, int, int]]], WalkStats]:
    stats = WalkStats()
    found = {
        folder: sorted(tuple(r) for r in records)  # type: ignore[misc]
        for folder, records in walk_folders(root, exclude=exclude, stats=stats)
    }
    return found, stats


def shared_walk(
    root: Path, exclude: list[Path], walkers: int = 2
) -> tuple[dict[str, list[tuple[str, int, int]]], WalkStats, list[int]]:
    stats = WalkStats()
    found: dict[str, list[tuple[str, int, int]]] = {}
    with SharedWalk(root, exclude=exclude, stats=stats, walkers=walkers) as walk:
        for folder, rows in walk.folders():
            assert folder not in found
            found[folder] = marshal.loads(rows)
        return found, stats, walk.listed_by


def same_as_one_walk(root: Path, exclude: list[Path], walkers: int) -> list[int]:
    expected, here = one_walk(root, exclude)
    found, there, listed_by = shared_walk(root, exclude, walkers)
    assert found == expected
    assert {**there.as_dict(), "examples": sorted(there.examples)} == {
        **here.as_dict(),
        "examples": sorted(here.examples),
    }
    return listed_by


TREE: Tree = {
    b"caf\xe9/\xff.jpg": b"1",
    "a/img1.jpg": b"22",
    "a/b/img2.jpg": b"333",
    "a/.hidden/x.jpg": b"",
    ".cache/c.jpg": b"",
    "top.png": b"",
    "empty/sub/deeper/z.jpg": b"4444",
}


def test_the_same_folders_files_and_counts_as_one_walk(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", TREE)
    os.symlink("/", root / "out")  # a link out of the root: counted, not followed
    os.symlink(root / "top.png", root / "a" / "link.png")  # a link to a file: a file
    os.mkfifo(root / "a" / "pipe.mp3")
    listed_by = same_as_one_walk(root, [root / ".cache", root / "empty" / "sub"], walkers=2)
    found, stats, _ = shared_walk(root, [])
    assert found["caf\udce9"] == [("caf\udce9/\udcff.jpg", 1, 1_600_000_000_000_000_000)]
    assert sorted(found) == ["", "a", "a/b", "caf\udce9", "empty", "empty/sub", "empty/sub/deeper"]
    assert (stats.files, stats.folders, stats.undecodable, stats.outside_links) == (6, 7, 1, 1)
    assert sum(listed_by) == 5


def test_a_waiting_walker_is_handed_half_of_a_busy_ones_folders(tmp_path: Path) -> None:
    """The first walker starts alone at the root; slowed, it hands the others work."""
    root = make_tree(
        tmp_path / "lib", {f"d{i}/e{j}/f.jpg": "x" for i in range(3) for j in range(10)}
    )
    real_scandir = os.scandir

    def slow_scandir(path: str) -> object:  # inherited by the walkers (fork)
        time.sleep(0.01)
        return real_scandir(path)

    with mock.patch.object(walk_module.os, "scandir", slow_scandir):
        listed_by = same_as_one_walk(root, [], walkers=3)
    assert sum(listed_by) == 34 and all(listed_by), listed_by


names = st.sampled_from(["a", "b", "B", "a b", "a.b", "é", "ab", "a10", "a9", ".h"])
paths = st.lists(names, min_size=1, max_size=4).map(lambda parts: "/".join(parts) + ".jpg")


@pytest.mark.fuzz
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(paths, st.binary(max_size=3), min_size=1, max_size=40),
    st.integers(1, 3),
    st.sampled_from(["", "a", "b", "a/b"]),
)
def test_any_tree_any_walkers_the_same_as_one_walk(tree: Tree, walkers: int, locked: str) -> None:
    """Folders named ``locked`` (a last part) may not be listed: counted the same."""
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if locked and path.endswith("/" + locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    files = {p: c for p, c in tree.items() if not any(p.startswith(q + "/") for q in tree)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(walk_module.os, "scandir", scandir),
    ):
        root = make_tree(Path(tmp) / "lib", {**files, b"\xff/x.jpg": b"1"})
        same_as_one_walk(root, [], walkers)


def test_a_root_that_vanishes_mid_walk_fails_here(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {f"d{i}/f.jpg": "" for i in range(3)})
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if path.endswith("d1"):
            root.rename(tmp_path / "away")
        return real_scandir(path)

    with (
        mock.patch.object(walk_module.os, "scandir", scandir),
        pytest.raises(RootGone, match="went away during the scan") as raised,
    ):
        shared_walk(root, [])
    assert raised.value.root == os.path.realpath(root)


def test_a_walker_that_dies_fails_the_walk(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"a/f.jpg": "", "b/g.jpg": ""})
    with (
        mock.patch.object(walkshare, "list_folder", lambda *a: os._exit(3)),
        pytest.raises(ScanFailed, match=r"walk process ended unexpectedly \(exit status 3\)"),
    ):
        shared_walk(root, [])


def test_a_symlinked_folder_needs_one_walker(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"real/a.jpg": ""})
    os.symlink(root / "real", root / "link")
    with pytest.raises(NeedOneWalker, match="a symlinked folder: link"):
        shared_walk(root, [])


def test_a_folder_reached_twice_needs_one_walker(tmp_path: Path) -> None:
    """As a bind mount would: two folders, one (st_dev, st_ino)."""
    root = make_tree(tmp_path / "lib", {"x/a.jpg": "", "y/b.jpg": ""})
    real_list_folder = walkshare.list_folder

    def one_key(*args: object) -> object:
        listed = real_list_folder(*args)  # type: ignore[arg-type]
        if listed is not None:
            listed[1][:] = [Subfolder(s.real, s.rel, s.linked, (0, 0)) for s in listed[1]]
        return listed

    with (
        mock.patch.object(walkshare, "list_folder", one_key),
        pytest.raises(NeedOneWalker, match="a folder reached twice"),
    ):
        shared_walk(root, [])


@pytest.mark.parametrize(
    ("error", "counted"),
    [
        (FileNotFoundError(2, "No such file or directory"), "vanished"),
        (PermissionError(13, "Permission denied"), "unreadable"),
        (OSError(5, "Input/output error"), "errors"),
    ],
)
def test_a_folder_that_cannot_be_listed_is_counted_as_one_walk_counts_it(
    tmp_path: Path, error: OSError, counted: str
) -> None:
    root = make_tree(tmp_path / "lib", {f"d{i}/x/f.jpg": "" for i in range(4)})
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if path.endswith(("d1/x", "d2")):
            raise error
        return real_scandir(path)

    with mock.patch.object(walk_module.os, "scandir", scandir):
        same_as_one_walk(root, [], walkers=2)
        _, stats, _ = shared_walk(root, [])
    assert (getattr(stats, counted), stats.files, stats.folders) == (2, 2, 8)
    assert sorted(stats.examples) == [
        f"{counted}: d1/x ({error.strerror})",
        f"{counted}: d2 ({error.strerror})",
    ]


STUCK_PARENT = """
import os, sys, threading
from pathlib import Path
from mediasrv.scan import walkshare
from mediasrv.scan.walk import WalkStats

def stuck(out, shared, root, exclude, first, stats):  # each walker: says who it is, then waits
    # One write of the whole line: print's pid and newline are two writes when stdout is
    # unbuffered (PYTHONUNBUFFERED), and the two walkers' could interleave ("12" "34" "\\n").
    os.write(1, f"{os.getpid()}\\n".encode())
    threading.Event().wait()

walkshare._walk_part = stuck
list(walkshare.SharedWalk(Path(sys.argv[1]), exclude=[], stats=WalkStats(), walkers=2).folders())
"""


@pytest.mark.process
def test_the_walkers_die_with_their_scan_process(tmp_path: Path) -> None:
    """A scan process killed mid-walk takes its walkers with it (as walkproc's one walker):
    an orphan would hold the cache dir's scan lock for ever."""
    root = make_tree(tmp_path / "lib", {"a/f.jpg": ""})
    with subprocess.Popen(
        [sys.executable, "-c", STUCK_PARENT, str(root)], stdout=subprocess.PIPE, env=child_env()
    ) as parent:
        try:
            assert parent.stdout is not None
            walkers = [int(parent.stdout.readline()) for _ in range(2)]
            assert not any(process_ended(pid) for pid in walkers)
        finally:  # whatever failed: never wait for a parent that waits for ever
            parent.kill()
    until(lambda: all(map(process_ended, walkers)), "the walkers to end with their parent")
