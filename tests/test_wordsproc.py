"""A big build's search tables, written by a process of their own (scan/wordsproc.py),
are those the build writes in process, and the process starts once the files rows are in."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

from mediasrv.scan import fulltags, sideproc, takenproc, wordsproc
from mediasrv.scan.walk import walk

from .support.generations import build_of, table_rows

pytestmark = pytest.mark.process

SEARCH = ("folder_words", "name_words", "word_folders")


def library(root: Path) -> Path:
    """Folders and names sharing words and not, a name that is not UTF-8, files at the
    root, a folder whose path has every word of its names."""
    paths = [
        "beach.jpg", "Trips/Beach 2019/beach sunset.jpg", "Trips/Beach 2019/IMG_0001.jpg",
        "Trips/Alps/Day 1/sunrise [anna].jpg", "Trips/Alps/Day 1/Day 1.jpg",
        "Trips/Alps/Day 12/summit 4810.png", "Music/Band/Album/01 Song.mp3",
        "Music/Band/Album/02 Beach Song.mp3", "caf\xe9/na\xefve caf\xe9.jpg",
    ]
    for i, rel in enumerate(paths * 3):
        path = root / (rel if i < len(paths) else rel.replace(".", f" {i}.", 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    odd = root / "Scans" / b"scan \xe9t\xe9 07.jpg".decode("utf-8", "surrogateescape")
    odd.parent.mkdir(parents=True, exist_ok=True)
    odd.write_bytes(b"")
    return root


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``build(name, apart, staged)``: a generation of the library, every build from the
    same records."""
    root = library(tmp_path / "lib")
    records = list(walk(root))

    def build(name: str, *, apart: bool, staged: bool = True) -> Path:
        monkeypatch.setattr(sideproc, "APART_FROM", 1 if apart else 10**9)
        return build_of(tmp_path / f"{name}.db", root, records, staged=staged)

    return build


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "python"])
def test_the_search_tables_written_apart_are_those_written_in_process(
    built, tmp_path: Path, staged: bool,
):
    inside_db = built("inside", apart=False, staged=staged)
    inside = table_rows(inside_db)
    apart = table_rows(built("apart", apart=True, staged=staged))
    assert apart == inside
    assert all(inside[table] for table in SEARCH)  # not empty
    with sqlite3.connect(inside_db) as conn:  # the name that is not UTF-8 has its words
        (odd,) = conn.execute("SELECT id FROM files WHERE path_bytes IS NOT NULL").fetchone()
        assert conn.execute("SELECT count(*) FROM name_words WHERE file_id = ?",
                            (odd,)).fetchone()[0] >= 2
    assert not list(tmp_path.glob("*.tmp"))  # the side files are gone


def test_the_words_process_starts_before_the_files_rows_and_waits_for_them(
    built, monkeypatch: pytest.MonkeyPatch,
):
    happened: list[str] = []

    def recorded(name: str, function):
        def run(*args, **kwargs):
            happened.append(name)
            return function(*args, **kwargs)
        return run

    def late(starter: wordsproc.Starter) -> None:  # the process reaches the rows first
        if starter.child is not None:  # the build apart
            happened.append("committed")
            time.sleep(0.5)
            assert starter.child.child.poll() is None  # it waits for them: it cannot end
        committed(starter)

    committed = wordsproc.Starter.committed
    monkeypatch.setattr(wordsproc.Starter, "committed", late)
    monkeypatch.setattr(wordsproc, "Apart", recorded("words", wordsproc.Apart))
    monkeypatch.setattr(takenproc, "Apart", recorded("taken", takenproc.Apart))
    monkeypatch.setattr(fulltags, "tag_runs", recorded("tag runs", fulltags.tag_runs))
    late_db = built("late", apart=True)
    assert happened == ["words", "committed", "taken", "tag runs"]
    # It read the rows once they were committed, not the empty table before.
    assert table_rows(late_db) == table_rows(built("inside", apart=False))


def test_a_failed_words_process_fails_the_build_and_leaves_nothing(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    command = sideproc.children.command

    def failing(module: str, *args: str) -> list[str]:
        if module == wordsproc.CHILD.module:
            return [sys.executable, "-c", "import sys; sys.exit('database or disk is full')"]
        return command(module, *args)

    monkeypatch.setattr(sideproc.children, "command", failing)
    with pytest.raises(RuntimeError, match="search words process ended with status 1: "
                                           "database or disk is full"):
        built("failed", apart=True)
    assert not list(tmp_path.glob("*.tmp"))
