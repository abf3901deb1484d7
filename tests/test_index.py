"""The published index, read the way a user debugging with sqlite3 would."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from mediasrv.index import db
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan

from .conftest import SMALL_TREE, make_tree


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, CacheDir]:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    return root, cache


def test_current_db_opens_with_plain_sqlite3(published: tuple[Path, CacheDir]) -> None:
    root, cache = published
    conn = sqlite3.connect(cache.current)
    assert conn.execute("SELECT path, kind, size FROM files ORDER BY id").fetchall() == [
        ("Music/song.mp3", "audio", 60),
        ("notes.txt", "other", 70),
        ("Trips/2023/Lake/clip.mp4", "video", 50),
        ("Trips/2024/Beach/img1.jpg", "image", 10),
        ("Trips/2024/Beach/img2.jpg", "image", 20),
        ("Trips/2024/Beach/img10.jpg", "image", 30),
        ("Trips/2024/Beach/sunset[beach family].jpg", "image", 40),
    ]
    assert conn.execute(
        "SELECT name, file_count FROM tags WHERE name IN ('All', 'Beach', 'family') ORDER BY id"
    ).fetchall() == [
        ("All", 7),
        ("Beach", 4),
        ("family", 1),
    ]
    assert conn.execute("SELECT path FROM file_tags_v WHERE tag = 'Beach'").fetchall() == [
        ("Trips/2024/Beach/img1.jpg",),
        ("Trips/2024/Beach/img2.jpg",),
        ("Trips/2024/Beach/img10.jpg",),
        ("Trips/2024/Beach/sunset[beach family].jpg",),
    ]
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert meta["generation"] == 1
    assert meta["root"] == str(root)
    assert meta["schema_version"] == db.schema_version()
    assert meta["file_count"] == 7
    assert {"scanned_at", "scan_seconds"} <= meta.keys()


def test_positions_run_from_zero_in_each_tag(published: tuple[Path, CacheDir]) -> None:
    conn = sqlite3.connect(published[1].current)
    rows = conn.execute(
        "SELECT t.name, min(position), max(position), count(DISTINCT position), t.file_count"
        " FROM file_tags JOIN tags t ON t.id = tag_id GROUP BY t.id"
    ).fetchall()
    assert len(rows) == 8  # the folder Beach and the bracket tag [beach] are one tag
    assert all(lo == 0 and hi == n - 1 == count - 1 for _, lo, hi, n, count in rows)


def test_a_tag_is_a_few_runs_of_folders(published: tuple[Path, CacheDir]) -> None:
    conn = sqlite3.connect(published[1].current)
    assert conn.execute(
        "SELECT r.start, f.path, r.first, r.count FROM tag_runs r"
        " JOIN tags t ON t.id = r.tag_id JOIN folders f ON f.id = r.folder_id"
        " WHERE t.name = 'All' ORDER BY r.start"
    ).fetchall() == [
        (0, "Music", 0, 1), (1, "", 0, 1), (2, "Trips/2023/Lake", 0, 1),
        (3, "Trips/2024/Beach", 0, 4),
    ]
    assert conn.execute(
        "SELECT tag, position FROM file_tags_v WHERE path LIKE '%sunset%'"
    ).fetchall() == [("2024", 3), ("All", 6), ("Beach", 3), ("Trips", 4), ("family", 0)]


def test_published_file_is_rollback_journal_and_current_is_a_symlink(
    published: tuple[Path, CacheDir],
) -> None:
    cache = published[1]
    assert os.readlink(cache.current) == "gen-000001.db"
    header = (cache.path / "gen-000001.db").read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # legacy (rollback) read/write versions, not WAL
    assert sorted(p.name for p in cache.path.iterdir()) == [
        "current.db",
        "gen-000001.db",
        "scan.lock",
    ]


def test_every_generation_has_the_same_schema(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    first = cache.current.resolve()
    schema1 = (
        sqlite3.connect(first).execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()
    )
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    make_tree(root, {"new.jpg": "x"})
    result = run_scan(root, cache)
    assert (result.status, result.generation, result.added) == ("published", 2, 1)
    second = cache.current.resolve()
    schema2 = (
        sqlite3.connect(second).execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()
    )
    assert schema1 == schema2
    # the first generation was never written again after it was published
    assert hashlib.sha256(first.read_bytes()).hexdigest() == digest


def test_no_change_rescan_publishes_nothing(published: tuple[Path, CacheDir]) -> None:
    root, cache = published
    result = run_scan(root, cache)
    assert (result.status, result.generation, result.added, result.removed, result.changed) == (
        "unchanged",
        1,
        0,
        0,
        0,
    )
    assert sorted(cache.generations()) == [1]


def test_counts_added_removed_changed(published: tuple[Path, CacheDir]) -> None:
    root, cache = published
    (root / "notes.txt").unlink()
    (root / "Music" / "song.mp3").write_bytes(b"longer song")
    make_tree(root, {"Music/new.mp3": "x", "Music/new2.mp3": "y"})
    result = run_scan(root, cache)
    assert (result.added, result.removed, result.changed, result.files) == (2, 1, 1, 8)


ODD_TREE = {b"caf\xe9/\xff.jpg": "x", b"caf\xe9/sun[b\xe8ach].jpg": "y", "plain/a.jpg": "z"}


def test_every_row_of_every_table_and_view_reads_with_default_sqlite3(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)  # default text factory: strict UTF-8
    names = [n for (n,) in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")]
    assert {"files", "folders", "tags", "tag_runs", "search_words", "meta", "file_tags",
            "file_tags_v"} <= set(names)
    for name in names:
        conn.execute(f'SELECT * FROM "{name}"').fetchall()
    assert sorted(conn.execute("SELECT path, name FROM files").fetchall()) == [
        ("caf\ufffd/sun[b\ufffdach].jpg", "sun[b\ufffdach].jpg"),
        ("caf\ufffd/\ufffd.jpg", "\ufffd.jpg"),
        ("plain/a.jpg", "a.jpg"),
    ]


def test_exact_bytes_come_back_with_the_documented_query(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)
    assert sorted(conn.execute(
        "SELECT coalesce(path_bytes, CAST(path AS BLOB)) FROM files").fetchall()) == [
        (b"caf\xe9/sun[b\xe8ach].jpg",), (b"caf\xe9/\xff.jpg",), (b"plain/a.jpg",)]
    assert conn.execute("SELECT path_bytes FROM files WHERE path = 'plain/a.jpg'").fetchall() == [
        (None,)]
    assert sorted(conn.execute(
        "SELECT coalesce(name_bytes, CAST(name AS BLOB)) FROM tags").fetchall()) == [
        (b"All",), (b"b\xe8ach",), (b"caf\xe9",), (b"plain",)]


def test_names_differing_only_in_undecodable_bytes_stay_two_files(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {b"\xff.jpg": "1", b"\xfe.jpg": "22"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)
    assert conn.execute("SELECT path, path_bytes, size FROM files ORDER BY id").fetchall() == [
        ("\ufffd.jpg", b"\xfe.jpg", 2), ("\ufffd.jpg", b"\xff.jpg", 1)]


def test_empty_library_publishes_an_empty_generation(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    cache = CacheDir(tmp_path / "cache")
    result = run_scan(tmp_path / "lib", cache)
    assert (result.status, result.files, result.tags) == ("published", 0, 1)
    conn = sqlite3.connect(cache.current)
    assert conn.execute("SELECT name, file_count FROM tags").fetchall() == [("All", 0)]


def test_disk_full_during_build_keeps_the_current_generation(
    published: tuple[Path, CacheDir], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache = published
    make_tree(root, {f"more/{i}.jpg": "x" * 100 for i in range(200)})
    real = db.connect_build

    def tiny_disk(path: Path) -> sqlite3.Connection:
        conn = real(path)
        conn.execute("PRAGMA max_page_count = 8")  # the "disk" fills after 8 pages
        return conn

    monkeypatch.setattr(db, "connect_build", tiny_disk)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        run_scan(root, cache)
    assert os.readlink(cache.current) == "gen-000001.db"
    assert sorted(p.name for p in cache.path.iterdir()) == [
        "current.db",
        "gen-000001.db",
        "scan.lock",
    ]
