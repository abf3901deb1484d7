"""A first walk publishes what it has found so far (scan/progressive.py), in process.

The first part is let out as soon as a folder of files is found (the
module's ``FIRST_AFTER_S`` and ``FIRST_FILES`` set to nothing), so that
prefixes are published at folder boundaries a test can name, whatever the
machine's speed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.index.cachedir import CacheDir
from mediasrv.names import tag_key, tags_of
from mediasrv.natural import natural_key
from mediasrv.scan import fullbuild, job, progressive, stagedrows
from mediasrv.scan.build import ScanRun
from mediasrv.scan.staging import Staged
from mediasrv.scan.walk import walk

from .support import make_tree
from .support.generations import table_rows

# Six folders of three files, walked f0 … f5 (name order, depth first).
SIX = {f"f{i}/img{j}.jpg": "" for i in range(6) for j in range(3)}


@pytest.fixture(autouse=True)
def from_the_first_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first part as soon as a folder of files is found (not after 0.1 s and 10,000),
    and the walk waits for each part (built beside it, it would be given up when the walk
    of these small trees ends)."""
    monkeypatch.setattr(progressive, "FIRST_AFTER_S", 0)
    monkeypatch.setattr(progressive, "FIRST_FILES", 1)
    monkeypatch.setattr(progressive, "WAIT_FOR_PARTS", True)
    monkeypatch.setattr(progressive, "PART_SHARE", float("inf"))  # parts cost no budget


def scan(root: Path, cache: Path, **kwargs: Any) -> tuple[Any, list[dict[str, Any]]]:
    """run_scan's result and the generations it published part-way."""
    events: list[dict[str, Any]] = []
    result = job.run_scan(root, CacheDir(cache), events.append, **kwargs)
    return result, [e["published"] for e in events if "published" in e]


def meta(path: str | Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def test_a_first_walk_publishes_growing_prefixes_then_the_complete_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressive, "GROWTH", 2)
    root = make_tree(tmp_path / "lib", SIX)
    result, parts = scan(root, tmp_path / "cache")
    # After f0 (3 files), f1 (6 >= 2 x 3), f3 (12 >= 2 x 6); 18 < 24: the rest is the end.
    assert [p["files"] for p in parts] == [3, 6, 12]
    assert [p["generation"] for p in parts] == [1, 2, 3]
    assert [meta(p["db_path"])["complete"] for p in parts] == [0, 0, 0]
    assert (result.status, result.generation, result.files, result.mode) == (
        "published",
        4,
        18,
        "full",
    )
    assert meta(result.db_path)["complete"] == 1


def test_a_library_that_has_a_complete_index_publishes_once(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SIX)
    scan(root, tmp_path / "cache")
    make_tree(root, {"f9/new.jpg": ""})
    for full in (False, True):
        result, parts = scan(root, tmp_path / "cache", full=full)
        assert parts == []
        assert result.status == "published"
        assert meta(result.db_path)["complete"] == 1


def test_a_walk_stopped_part_way_leaves_an_incomplete_index_the_next_scan_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "lib", SIX)
    cache = CacheDir(tmp_path / "cache")
    real = job.walk

    def dying(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for n, record in enumerate(real(*args, **kwargs)):
            if n == 9:  # inside f3, after f0 (3 files) was published
                raise OSError("the scan was stopped")
            yield record

    monkeypatch.setattr(job, "walk", dying)
    with pytest.raises(OSError):
        job.run_scan(root, cache)
    served = cache.current_target()
    assert served is not None
    assert (meta(served)["complete"], meta(served)["file_count"]) == (0, 3)

    monkeypatch.setattr(job, "walk", real)
    monkeypatch.setattr(progressive, "GROWTH", 2)
    # Even a scan of a few paths (the watcher's) walks everything to complete it.
    result, parts = scan(root, cache.path, paths=["f0/img0.jpg"])
    # Nothing smaller than the 3 files served: the next part at 6, then 12.
    assert [p["files"] for p in parts] == [6, 12]
    assert (result.files, meta(result.db_path)["complete"]) == (18, 1)




segment = st.sampled_from(["a", "A", "b", "img2", "img10", "Img1", "x y", "z[beach]"])
name = st.sampled_from(["img1", "img2", "img10", "IMG02", "a[anna cat]", "b [Beach]", "c"])
paths = st.lists(
    st.tuples(st.lists(segment, max_size=3), name, st.sampled_from(["jpg", "mp3", "txt"])),
    min_size=1,
    max_size=30,
).map(lambda found: sorted({"/".join([*folders, f"{stem}.{ext}"]) for folders, stem, ext in found}))


@pytest.mark.fuzz
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=paths, growth=st.sampled_from([1, 2, 4]))
def test_every_part_is_a_full_build_of_the_files_found_so_far(
    files: list[str], growth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressive, "GROWTH", growth)
    with tempfile.TemporaryDirectory() as work:
        root = make_tree(Path(work) / "lib", dict.fromkeys(files, ""))
        records = list(walk(root))
        result, parts = scan(root, Path(work) / "cache")
        for number, part in enumerate(
            [*parts, {"db_path": result.db_path, "files": result.files}], 1
        ):
            found = records[: part["files"]]  # the walk's order: what it had found
            reference = Path(work) / f"reference-{number}.db"
            fullbuild.write(reference, 1, found, root=str(root))
            assert table_rows(part["db_path"]) == table_rows(reference)
            with sqlite3.connect(f"file:{part['db_path']}?mode=ro", uri=True) as conn:
                ordered = [p for (p,) in conn.execute("SELECT path FROM files ORDER BY id")]
                counts = dict(conn.execute("SELECT key, file_count FROM tags"))
                walked = json.loads(dict(conn.execute("SELECT key, value FROM meta"))["walk"])
            assert ordered == sorted((r.path for r in found), key=natural_key)
            expected = Counter(key for r in found for key in {tag_key(t) for t in tags_of(r.path)})
            assert counts == {**expected, "all": len(found)}
            assert walked["files"] >= len(found)


def test_a_small_library_is_published_once_however_slow_its_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressive, "FIRST_FILES", 1_000)  # the default
    root = make_tree(tmp_path / "lib", SIX)
    result, parts = scan(root, tmp_path / "cache")
    assert (parts, result.generation, result.files) == ([], 1, 18)


def test_the_first_part_is_the_walk_up_to_the_folder_that_reached_first_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many files the walk has found once FIRST_AFTER_S has passed, the first
    part holds its folders up to the one that brought it to FIRST_FILES: a small
    first part is built at once."""
    monkeypatch.setattr(progressive, "FIRST_FILES", 2)
    monkeypatch.setattr(progressive, "FIRST_AFTER_S", 1e9)
    asked = 0

    def perf_counter() -> float:  # FIRST_AFTER_S passes at the third folder: f1
        nonlocal asked
        asked += 1
        return time.perf_counter() + (2e9 if asked >= 3 else 0)

    monkeypatch.setattr(progressive, "time", SimpleNamespace(perf_counter=perf_counter))
    root = make_tree(tmp_path / "lib", SIX)
    result, parts = scan(root, tmp_path / "cache")
    # Asked after the root (no files), f0 (3 files: the cut), f1 (6 found: due), then
    # 4 x 3 = 12 after f3; the complete 18 last.
    assert [p["files"] for p in parts] == [3, 12]
    assert json.loads(meta(parts[0]["db_path"])["walk"])["files"] == 6  # the walk was at f1
    assert (result.generation, result.files) == (3, 18)


def _in_a_part(then: Any) -> Any:
    """A stand-in for ``stagedrows._runs`` that does ``then(conn)`` first in a part's thread."""
    real = stagedrows._runs

    def runs(conn: sqlite3.Connection, *args: Any) -> None:
        if threading.current_thread().name == "mediasrv-part":
            then(conn)
        real(conn, *args)

    return runs


def test_a_part_still_being_built_when_the_walk_ends_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The complete build comes next: it does not wait for a late part. The part's build
    is stopped at its next SQL step (here a statement that would never end)."""
    monkeypatch.setattr(progressive, "WAIT_FOR_PARTS", False)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    monkeypatch.setattr(stagedrows, "_runs", _in_a_part(lambda conn: conn.execute(endless)))
    root = make_tree(tmp_path / "lib", SIX)
    caplog.set_level(logging.INFO, logger="mediasrv.scan")
    result, parts = scan(root, tmp_path / "cache")
    assert parts == []  # the part after f0 was given up
    assert (result.status, result.files, meta(result.db_path)["complete"]) == (
        "published", 18, 1)
    assert "gave up generation" in caplog.text
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp") == []


def test_a_part_that_fails_beside_the_walk_fails_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressive, "WAIT_FOR_PARTS", False)

    def fail(conn: sqlite3.Connection) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stagedrows, "_runs", _in_a_part(fail))
    root = make_tree(tmp_path / "lib", SIX)
    cache = CacheDir(tmp_path / "cache")
    with pytest.raises(OSError, match="No space left"):
        job.run_scan(root, cache)
    assert cache.current_target() is None
    assert [p.name for p in cache.path.iterdir() if p.suffix == ".tmp"] == []


def test_a_part_waits_while_the_parts_so_far_cost_more_than_their_share_of_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts slow the walk (they hold the GIL part of their time): past the first, one is
    started only while those built so far cost at most PART_SHARE of the scan's time."""
    monkeypatch.setattr(progressive, "GROWTH", 2)
    monkeypatch.setattr(progressive, "PART_SHARE", 0.25)
    clock = [time.perf_counter()]  # the scan's start is a real reading, just after this
    monkeypatch.setattr(progressive, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    real = fullbuild.write

    def write(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "mediasrv-part":
            clock[0] += 1.0  # each part costs a second of the scan's time
        return real(*args, **kwargs)

    monkeypatch.setattr(fullbuild, "write", write)
    real_walk = job.walk

    def walk_slowly(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for record in real_walk(*args, **kwargs):
            clock[0] += 0.1  # and walking a file a tenth
            yield record

    monkeypatch.setattr(job, "walk", walk_slowly)
    root = make_tree(tmp_path / "lib", SIX)
    result, parts = scan(root, tmp_path / "cache")
    # The first part after f0 (3 files: 1 s of parts at 0.3 s); the next is due after f1
    # (6 >= 2 x 3) but 1 s > 0.25 x 1.6 s; at f3's end (12 files, 2.2 s of scan) the
    # budget is 0.55 s, still short; after f5 the walk is over. Without the share the
    # parts would be [3, 6, 12].
    assert [p["files"] for p in parts] == [3]
    assert (result.files, meta(result.db_path)["complete"]) == (18, 1)


@pytest.mark.parametrize(("walk_s", "parts"), [
    # A fast walk: after f1 the parts so far cost 0.15 s, within 0.25 x 0.75 s, but the
    # 6 files due, at the first part's 0.05 s a file, would bring that to 0.45 s; what
    # fits is never 2 x 3 files before the walk ends. Counting only the parts so far,
    # parts of 6 and 15 files would be built.
    (0.1, [3]),
    # After f2 the 9 files found would cost 0.45 s, with 0.34 s left of the share: the
    # part is cut after f1, the 6 files that fit (counting only the parts so far: 6, 12).
    (0.2, [3, 6]),
    # A slow walk (a network share): each part is due and foreseen within the share.
    (1.0, [3, 6, 12]),
])
def test_a_part_is_cut_to_what_its_cost_foreseen_leaves_of_the_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, walk_s: float, parts: list[int]
) -> None:
    """A part costs about the last one's cost per file times its files: at 1M files a
    second part of 118k, started 0.8 s into a 4 s walk when the first had cost little,
    took 5.4 s and slowed the walk to 7.5 s. It counts in the share before it starts,
    and is cut (at a folder) to the files that fit."""
    monkeypatch.setattr(progressive, "GROWTH", 2)
    monkeypatch.setattr(progressive, "PART_SHARE", 0.25)
    clock = [time.perf_counter()]
    monkeypatch.setattr(progressive, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    real = fullbuild.write

    def write(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        if threading.current_thread().name == "mediasrv-part":
            clock[0] += 0.05 * found[0]  # a part costs 0.05 s a file
        return found

    monkeypatch.setattr(fullbuild, "write", write)
    real_walk = job.walk

    def walk_slowly(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for record in real_walk(*args, **kwargs):
            clock[0] += walk_s
            yield record

    monkeypatch.setattr(job, "walk", walk_slowly)
    root = make_tree(tmp_path / "lib", SIX)
    result, published = scan(root, tmp_path / "cache")
    assert [p["files"] for p in published] == parts
    assert (result.files, meta(result.db_path)["complete"]) == (18, 1)


def test_a_part_whose_thread_cannot_start_fails_the_scan_without_holding_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No thread (the process is out of them): the error is the scan's, and the walk is
    not left waiting for a read that will never come (``Staged.free`` set again)."""

    class NoThread(threading.Thread):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(progressive.threading, "Thread", NoThread)
    root = make_tree(tmp_path / "lib", SIX)
    cache = CacheDir(tmp_path / "cache")
    cache.ensure()
    staged = Staged(cache.path)
    try:
        staged.add(list(walk(root))[:3])
        scan_run = ScanRun(str(root), cache, lambda event: None, time.perf_counter())
        with pytest.raises(RuntimeError, match="can't start new thread"):
            progressive.Prefixes(scan_run).publish(staged)
        assert staged.free.is_set()
    finally:
        staged.close()
    with pytest.raises(RuntimeError, match="can't start new thread"):
        job.run_scan(root, cache)  # the whole scan fails with it, and leaves nothing
    assert cache.current_target() is None
    assert [p.name for p in cache.path.iterdir() if p.suffix == ".tmp"] == []
