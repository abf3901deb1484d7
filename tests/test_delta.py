"""Delta builds: a generation patched from the one before equals a full rebuild, row for row."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.index import dateorder
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan

from .support import SMALL_TREE, camera_jpeg, make_tree, song_bytes
from .support.generations import content, full_rebuild


def write(root: Path, rel: bytes, data: bytes, mtime: int = 1_600_000_000) -> None:
    path = os.path.join(os.fsencode(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def rel_str(rel: bytes) -> str:
    return os.fsdecode(rel)


# -- a random walk through edits ------------------------------------------------------

# Names that differ only in letter case (also names that are not UTF-8) are one tag, shown
# by its most common spelling: edits move the majority between spellings.
NAMES = [b"a", b"b2", b"b10", b"img1", b"IMG_2", b"sun[beach]", b"x[beach fam]", b"caf\xe9",
         b"\xff", b"z z", b"Beach", b"y[BEACH Fam]", b"v[a ALL]"]
FOLDERS = [b"", b"A", b"A/B", b"A/B/C", b"Beach", b"caf\xe9", b"A/b10", b"A/b2", b"beach",
           b"a", b"a/BEACH", b"CAF\xe9", b"all", b"A/FAM"]

# Real songs and photos, so that delta builds carry file_audio and file_details and a
# song's tags (its artist, album artist, album, genre: tags like a folder's name, in any
# letter case, one also a folder's name, one spelling All) as exactly as a full build.
MEDIA: list[tuple[str, dict[str, str]]] = [
    ("mp3", {"artist": "Band", "album": "Album 2019", "genre": "Rock", "title": "One"}),
    ("mp3", {"artist": "band", "album": "Album 2019", "genre": "Rock\0Pop", "tracknumber": "2"}),
    ("mp3", {"artist": "Other", "albumartist": "BAND", "album": "beach", "date": "2001"}),
    ("mp3", {"artist": "all", "genre": "Fam"}),
    ("mp3", {}),
    ("jpg", {"model": "EOS R5"}),
    ("jpg", {"model": "EOS R6", "gps": ""}),
]
_MEDIA_BYTES: dict[int, bytes] = {}


def media(i: int) -> tuple[str, bytes]:
    """(extension, bytes) of MEDIA[i], made once."""
    ext, tags = MEDIA[i]
    if i not in _MEDIA_BYTES:
        _MEDIA_BYTES[i] = song_bytes("mp3", 0.2, **tags) if ext == "mp3" else camera_jpeg(
            tags["model"], gps="gps" not in tags)
    return ext, _MEDIA_BYTES[i]


op = st.one_of(
    st.tuples(st.just("media"), st.sampled_from(FOLDERS), st.sampled_from(NAMES),
              st.integers(0, len(MEDIA) - 1)),
    st.tuples(st.just("retag"), st.integers(0, 1000), st.integers(0, len(MEDIA) - 1)),
    st.tuples(st.just("create"), st.sampled_from(FOLDERS), st.sampled_from(NAMES),
              st.integers(1, 50)),
    st.tuples(st.just("modify"), st.integers(0, 1000), st.integers(51, 99)),
    st.tuples(st.just("delete"), st.integers(0, 1000)),
    st.tuples(st.just("rename"), st.integers(0, 1000), st.sampled_from(FOLDERS),
              st.sampled_from(NAMES)),
    st.tuples(st.just("rmdir"), st.sampled_from(FOLDERS[1:])),
    st.tuples(st.just("mvdir"), st.sampled_from(FOLDERS[1:]), st.sampled_from(NAMES)),
)


def files_of(root: Path) -> list[bytes]:
    found = []
    for dirpath, _, names in os.walk(os.fsencode(root)):
        for name in names:
            found.append(os.path.relpath(os.path.join(dirpath, name), os.fsencode(root)))
    return sorted(found)


def perform(root: Path, step: tuple[Any, ...]) -> list[bytes] | None:
    """Do one edit; return the paths it changed as a watcher names them (None: nothing)."""
    broot = os.fsencode(root)
    existing = files_of(root)
    kind = step[0]
    if kind == "create":
        _, folder, name, size = step
        rel = os.path.join(folder, name + b".jpg") if folder else name + b".jpg"
        if os.path.isdir(os.path.join(broot, rel)):
            return None
        made = [d for d in _missing_dirs(broot, os.path.dirname(rel))]
        # ~28 days apart: some the same, some in other months (the timeline's months)
        write(root, rel, b"x" * size, mtime=1_600_000_000 + size % 7 * 2_400_000)
        return [*made[:1], rel]
    if kind == "media":
        _, folder, name, i = step
        ext, data = media(i)
        rel = os.path.join(folder, name + b"." + ext.encode()) if folder else \
            name + b"." + ext.encode()
        if os.path.isdir(os.path.join(broot, rel)) or os.path.exists(os.path.join(broot, rel)):
            return None
        made = [d for d in _missing_dirs(broot, os.path.dirname(rel))]
        write(root, rel, data, mtime=1_600_000_000 + i * 2_400_000)
        return [*made[:1], rel]
    if kind == "retag":  # a song's (or photo's) tags change in place: same path, new mtime
        ext, data = media(step[2])
        same = [p for p in existing if p.endswith(b"." + ext.encode())]
        if not same:
            return None
        rel = same[step[1] % len(same)]
        write(root, rel, data, mtime=1_650_000_000 + step[2] * 2_400_000)
        return [rel]
    if kind in ("modify", "delete", "rename") and not existing:
        return None
    if kind == "modify":
        rel = existing[step[1] % len(existing)]
        write(root, rel, b"y" * step[2], mtime=1_600_000_000 + step[2] % 9 * 2_400_000)
        return [rel]
    if kind == "delete":
        rel = existing[step[1] % len(existing)]
        os.unlink(os.path.join(broot, rel))
        return [rel]
    if kind == "rename":
        rel = existing[step[1] % len(existing)]
        folder, name = step[2], step[3]
        new = os.path.join(folder, name + b".png") if folder else name + b".png"
        if os.path.exists(os.path.join(broot, new)) or os.path.isdir(os.path.join(broot, new)):
            return None
        made = [d for d in _missing_dirs(broot, os.path.dirname(new))]
        if os.path.isfile(os.path.join(broot, os.path.dirname(new))):
            return None
        os.makedirs(os.path.join(broot, os.path.dirname(new)), exist_ok=True)
        os.rename(os.path.join(broot, rel), os.path.join(broot, new))
        return [rel, *made[:1], new]
    if kind == "rmdir":
        if not os.path.isdir(os.path.join(broot, step[1])):
            return None
        shutil.rmtree(os.path.join(broot, step[1]))
        return [step[1]]
    if kind == "mvdir":
        src, name = step[1], step[2]
        dest = os.path.join(os.path.dirname(src), name) if os.path.dirname(src) else name
        if not os.path.isdir(os.path.join(broot, src)) or os.path.exists(
                os.path.join(broot, dest)) or dest.startswith(src + b"/") or src == dest:
            return None
        os.rename(os.path.join(broot, src), os.path.join(broot, dest))
        return [src, dest]
    raise AssertionError(kind)


def _missing_dirs(broot: bytes, folder: bytes) -> list[bytes]:
    """The outermost folder on the way to ``folder`` that does not exist yet (a watcher's event)."""
    parts = folder.split(b"/") if folder else []
    for i in range(1, len(parts) + 1):
        sub = b"/".join(parts[:i])
        if not os.path.exists(os.path.join(broot, sub)):
            return [sub]
    return []


@pytest.mark.fuzz
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=10), st.booleans(), st.sampled_from([2, 3, 512]),
       st.integers(1, 4))
def test_delta_builds_equal_full_rebuilds(
    steps: list[tuple[Any, ...]], walk_all: bool, chunk: int, batch: int,
) -> None:
    """After every ``batch`` edits (their paths named together, as a watcher's batch)."""
    # Small sort=taken chunks, so that changes split, empty and shift them.
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(dateorder, "CHUNK", chunk):
        root = make_tree(Path(tmp) / "lib", {
            **SMALL_TREE, b"caf\xe9/\xff.jpg": "odd", "A/B/one[beach].jpg": "1",
            "A/two.jpg": "22", "A/b10/three.jpg": "333"})
        cache = CacheDir(Path(tmp) / "cache")
        run_scan(root, cache)
        pending: list[bytes] = []
        for n, step in enumerate(steps, start=1):
            changed = perform(root, step)
            pending.extend(changed or [])
            if (n % batch and n < len(steps)) or not pending:
                continue
            paths = None if walk_all else [rel_str(p) for p in pending]
            pending = []
            result = run_scan(root, cache, paths=paths)
            if result.status == "published":
                assert result.mode == "delta", (step, result)
            assert content(cache.current) == full_rebuild(root), steps[:n]


def test_a_targeted_scan_sees_only_what_it_is_told(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"Music/new.mp3": "n", "notes2.txt": "elsewhere"})
    result = run_scan(root, cache, paths=["Music/new.mp3"])
    assert (result.status, result.mode, result.scope, result.added) == (
        "published", "delta", "paths", 1)
    paths = [p for (p,) in sqlite3.connect(cache.current).execute(
        "SELECT path FROM files ORDER BY id")]
    assert "Music/new.mp3" in paths and "notes2.txt" not in paths
    again = run_scan(root, cache)  # the full walk finds the rest
    assert (again.mode, again.scope, again.added) == ("delta", "all", 1)


def test_a_folder_listed_and_found_new_by_its_parent_is_listed_once(tmp_path: Path) -> None:
    """An emptied folder (so no longer indexed) gets a file while a sibling folder appears.

    Both changes come in one batch: the emptied folder is listed for its new
    file, then its parent, listed for the new sibling, finds it as a new
    subfolder and walks it. Found by the soak: its files were listed twice,
    and the delta failed on a duplicate id.
    """
    root = make_tree(tmp_path / "lib", {"A/x.jpg": "x", "A/B/y.jpg": "y"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    (root / "A/B/y.jpg").unlink()
    assert run_scan(root, cache, paths=["A/B/y.jpg"]).mode == "delta"
    make_tree(root, {"A/B/z.jpg": "z", "A/C/w.jpg": "w"})
    result = run_scan(root, cache, paths=["A/B/z.jpg", "A/C"])
    assert (result.status, result.mode, result.added) == ("published", "delta", 2)
    assert content(cache.current) == full_rebuild(root)


def test_a_targeted_scan_of_nothing_new_publishes_nothing(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    result = run_scan(root, cache, paths=["Trips/2024/Beach/img1.jpg", "Trips"])
    assert (result.status, result.generation, result.scope) == ("unchanged", 1, "paths")


@pytest.mark.parametrize("paths", [["Trips/2024/new.jpg"], None])
def test_a_scan_opens_the_current_generation_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: list[str] | None
) -> None:
    from mediasrv.index import db

    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    opened: list[str] = []
    for name in ("connect_ro", "validate"):
        real = getattr(db, name)
        monkeypatch.setattr(db, name, lambda path, *a, real=real, name=name, **kw: (
            opened.append(f"{name} {Path(path).name}"), real(path, *a, **kw))[1])
    make_tree(root, {"Trips/2024/new.jpg": "x"})
    result = run_scan(root, cache, paths=paths)
    assert (result.status, result.mode, result.scope) == (
        "published", "delta", "all" if paths is None else "paths")
    assert opened == ["connect_ro gen-000001.db"]


def test_a_big_change_is_built_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasrv.scan import build

    monkeypatch.setattr(build, "DELTA_MIN_FULL", 0)
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {f"new/{i}.jpg": "x" for i in range(9)})  # 9 of 16 files: over half
    assert run_scan(root, cache).mode == "full"
    make_tree(root, {"new/one-more.jpg": "x"})  # 1 of 13
    assert run_scan(root, cache).mode == "delta"


def test_when_ids_run_out_the_build_is_full(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"a/x1.jpg": "1", "a/x3.jpg": "3"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    modes = []
    # x1z, x1y, x1x ...: each sorts right after x1 and before the one before it,
    # so the room between two ids halves every time
    for letter in "zyxwvutsrqponmlk":
        make_tree(root, {f"a/x1{letter}.jpg": "n"})
        modes.append(run_scan(root, cache, paths=[f"a/x1{letter}.jpg"]).mode)
        assert content(cache.current) == full_rebuild(root)
    assert modes[:8] == ["delta"] * 8 and "full" in modes


def test_a_symlinked_folder_makes_targeted_scans_walk_everything(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    os.symlink(root / "Music", root / "Again")
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"Music/b.mp3": "b"})
    result = run_scan(root, cache, paths=["Music/b.mp3"])
    assert (result.scope, result.added) == ("all", 1)
    assert content(cache.current) == full_rebuild(root)


# -- failures in the middle of a delta build ------------------------------------------


def test_disk_full_during_the_copy_keeps_the_current_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from mediasrv.scan import delta
    from mediasrv.scan.job import describe_failure

    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    before = content(cache.current)

    def full_disk(source: Path, dest: Path) -> str:
        dest.write_bytes(source.read_bytes()[:4096])  # part of it made it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(delta, "copy_file", full_disk)
    make_tree(root, {"Music/new.mp3": "n"})
    with pytest.raises(OSError) as failure:
        run_scan(root, cache, paths=["Music/new.mp3"])
    assert describe_failure(failure.value).startswith("the disk is full")
    assert os.readlink(cache.current) == "gen-000001.db"
    assert sorted(p.name for p in cache.path.iterdir()) == ["current.db", "gen-000001.db",
                                                            "scan.lock"]
    assert content(cache.current) == before


def test_disk_full_while_patching_keeps_the_current_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasrv.index import db

    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    real = db.connect_build

    def no_room_to_grow(path: Path) -> sqlite3.Connection:
        conn = real(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(db, "connect_build", no_room_to_grow)
    make_tree(root, {f"many/{'x' * 200}{i}.jpg": "n" for i in range(300)})
    with pytest.raises(sqlite3.OperationalError, match="full"):
        run_scan(root, cache)
    assert os.readlink(cache.current) == "gen-000001.db"
    assert not list(cache.path.glob("*.tmp"))


KILLED = """
import os, sys, time
from pathlib import Path
from mediasrv.scan import delta
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
real = delta.apply
def slow(conn, *args):
    done = real(conn, *args)  # written, not yet published
    Path(sys.argv[3]).write_text("patched")
    time.sleep(60)
    return done
delta.apply = slow
run_scan(Path(sys.argv[1]), CacheDir(Path(sys.argv[2])), paths=["Music/new.mp3"])
"""


@pytest.mark.process
@pytest.mark.fault
def test_a_scan_killed_mid_delta_leaves_the_old_generation_and_no_stray_file(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from mediasrv.children import child_env

    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    make_tree(root, {"Music/new.mp3": "n"})
    marker = tmp_path / "patched"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(root), str(cache.path),
                             str(marker)], env=child_env())
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the scan never patched"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [p.name for p in cache.path.glob("*.tmp")] == ["gen-000002.db.tmp"]
    assert os.readlink(cache.current) == "gen-000001.db"
    assert cache.remove_temp_files() == 1  # what a server does at start-up
    result = run_scan(root, cache, paths=["Music/new.mp3"])
    assert (result.mode, result.added, result.generation) == ("delta", 1, 2)
    assert sorted(p.name for p in cache.path.iterdir()) == ["current.db", "gen-000001.db",
                                                            "gen-000002.db", "scan.lock"]
    assert content(cache.current) == full_rebuild(root)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_churn_as_the_soak_makes_it_equals_full_rebuilds(tmp_path: Path, seed: int) -> None:
    """The soak's edits (numbered names, folders emptied, moved and refilled), scanned
    in batches as a watcher names them, as a subtree, or whole; each result checked."""
    rng = random.Random(seed)
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    churn = root / "churn"
    churn.mkdir()
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    pending: list[Path] = []
    for n in range(1, 120):
        folders = sorted(p for p in churn.iterdir() if p.is_dir())
        files = sorted(p for d in folders for p in d.iterdir() if p.is_file())
        op = rng.choice(["create", "create", "modify", "rename", "delete", "mkdir", "mvdir",
                         "rmdir"])
        if op == "mkdir" or not folders:
            (churn / f"f{n}").mkdir()
            pending.append(churn / f"f{n}")
        elif op == "create" or not files:
            pending.append(rng.choice(folders) / f"c{n}[churn].jpg")
            pending[-1].write_bytes(b"x" * n)
        elif op == "modify":
            pending.append(rng.choice(files))
            with open(pending[-1], "ab") as f:
                f.write(b"\0")
        elif op == "rename":
            src, dst = rng.choice(files), rng.choice(folders) / f"r{n}.jpg"
            src.rename(dst)
            pending += [src, dst]
        elif op == "delete":
            pending.append(rng.choice(files))
            pending[-1].unlink()
        elif op == "mvdir":
            src, dst = rng.choice(folders), churn / f"m{n}"
            src.rename(dst)
            pending += [src, dst]
        elif len(folders) > 3:
            pending.append(rng.choice(folders))
            shutil.rmtree(pending[-1])
        if rng.random() < 0.6:
            continue
        way = rng.choice(["paths", "paths", "subtree", "all"])
        paths = {"paths": [str(p.relative_to(root)) for p in pending], "subtree": ["churn"],
                 "all": None}[way]
        pending = []
        result = run_scan(root, cache, paths=paths)
        assert result.mode in ("delta", None), (n, result)
        assert content(cache.current) == full_rebuild(root), (n, way)
