"""Search: word prefixes of the whole path, natural order, a limit, a tag; never in the way."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.index.cachedir import CacheDir
from mediasrv.names import ALL_TAG, query_words, search_words, tags_of
from mediasrv.natural import natural_key
from mediasrv.scan.job import run_scan
from mediasrv.snapshot import open_snapshot, search

from .support import SMALL_TREE, make_tree


def expected(paths: list[str], query: str, limit: int, tag: str = ALL_TAG) -> list[str]:
    """The answer by definition: every query word starts some word of the path."""
    words = query_words(query)
    if not words:
        return []
    found = [p for p in paths
             if all(any(w.startswith(q) for w in search_words(p)) for q in words)
             and tag in tags_of(p)]
    return sorted(found, key=natural_key)[:limit]


MUSIC = {
    f"Artist {a}/Album {b}[live]/track {t:02d}.mp3": "x"
    for a in (1, 2, 12) for b in (1, 3) for t in (1, 5, 10, 50)
} | {"Artist 1/cover.jpg": "c", "Artist 12/Album 3[live]/Bonus/track 99.mp3": "b",
     "Misc/track 1 of 12.mp3": "m"}


@pytest.fixture
def music(tmp_path: Path) -> tuple[Path, list[str]]:
    root = make_tree(tmp_path / "lib", MUSIC)
    return root, list(MUSIC)


@pytest.mark.parametrize("state", ["sqlite", "memory", "sqlite, folders read one at a time"])
@pytest.mark.parametrize(("query", "limit", "tag"), [
    ("track", 50, ALL_TAG), ("track", 3, ALL_TAG), ("track 1", 5, ALL_TAG),
    ("artist 12 album 3", 50, ALL_TAG), ("12", 4, ALL_TAG), ("live 5", 50, ALL_TAG),
    ("TRACK 0", 50, ALL_TAG), ("bonus", 50, ALL_TAG), ("zzz", 50, ALL_TAG),
    ("track", 50, "Album 3[live]"), ("track 1", 2, "Artist 12"), ("mp3", 50, "Bonus"),
    ("jpg", 50, "Misc"), ("", 50, ALL_TAG),
])
async def test_search_answers_by_definition(
    music: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str,
    query: str, limit: int, tag: str,
) -> None:
    root, paths = music
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    if state.endswith("one at a time"):  # every seek reads one folder: the most refills
        monkeypatch.setattr(search, "BATCH", 1)
        state = "sqlite"
    snap = await open_snapshot(cache.current, state)
    try:
        found = [f["path"] for f in await snap.search(query, limit, tag)]
    finally:
        await snap.close()
    assert found == expected(paths, query, limit, tag)


async def test_search_in_an_unknown_tag_is_a_404(client: TestClient) -> None:
    resp = await client.get("/api/search?q=img&tag=Nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_tag"


async def test_search_api_echoes_the_tag(client: TestClient) -> None:
    body = await (await client.get("/api/search?q=jpg&tag=Beach&limit=2")).json()
    assert (body["tag"], body["limit"]) == ("Beach", 2)
    assert [f["path"] for f in body["files"]] == ["Trips/2024/Beach/img1.jpg",
                                                  "Trips/2024/Beach/img2.jpg"]


_PARTS = ["a", "b2", "b10", "x y", "Beach", "img", "IMG 2", "t1", "café"]


@st.composite
def libraries(draw: st.DrawFn) -> dict[str, str]:
    files = {}
    for _ in range(draw(st.integers(1, 25))):
        folders = draw(st.lists(st.sampled_from(_PARTS), max_size=3))
        stem = draw(st.sampled_from(_PARTS)) + draw(st.sampled_from(["", "1", "20", "[b2 x]"]))
        files["/".join([*folders, stem + ".jpg"])] = "x"
    return {p: c for p, c in files.items() if not any(o.startswith(p + "/") for o in files)}


@pytest.mark.fuzz
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(libraries(), st.lists(st.sampled_from(["a", "b", "b1", "x", "y", "i", "img", "2", "1",
                                              "t", "beach", "caf", "jpg"]), max_size=3),
       st.integers(1, 6), st.sampled_from([ALL_TAG, "a", "b2", "x", "Beach", "img"]))
def test_search_matches_the_definition_on_any_tree(
    tree: dict[str, str], words: list[str], limit: int, tag: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_tree(Path(tmp) / "lib", tree)
        cache = CacheDir(Path(tmp) / "cache")
        run_scan(root, cache)
        query = " ".join(words)

        async def both() -> list[list[str]]:
            answers = []
            for state in ("sqlite", "memory"):
                snap = await open_snapshot(cache.current, state)
                try:
                    found = await snap.search(query, limit, tag)
                    answers.append([f["path"] for f in found])
                except Exception as exc:  # an unknown tag: both must say so
                    answers.append([type(exc).__name__])
                finally:
                    await snap.close()
            return answers

        sqlite_answer, memory_answer = asyncio.run(both())
        assert sqlite_answer == memory_answer
        if sqlite_answer != ["UnknownTag"]:
            assert sqlite_answer == expected(list(tree), query, limit, tag)


async def test_a_search_never_holds_up_pages(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search runs on its own connection and thread: pages are answered while it runs."""
    entered, release = threading.Event(), threading.Event()
    real = search.search

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "search", slow)
    from mediasrv.snapshot import sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "search", slow)
    searching = [asyncio.ensure_future(client.get("/api/search?q=jpg")) for _ in range(3)]
    await asyncio.to_thread(entered.wait, 30)
    try:
        for _ in range(10):  # more requests than the pool has connections
            assert (await client.get("/api/files?limit=2")).status == 200
            assert (await client.get("/api/file?path=notes.txt")).status == 200
        assert not any(task.done() for task in searching)
    finally:
        release.set()
    for task in searching:
        assert (await task).status == 200


def test_search_tables_hold_each_word_once(tmp_path: Path) -> None:
    import sqlite3

    root = make_tree(tmp_path / "lib", SMALL_TREE)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    conn = sqlite3.connect(cache.current)
    # folder words once per folder, not once per file
    assert conn.execute(
        "SELECT word FROM folder_words w JOIN folders f ON f.id = w.folder_id"
        " WHERE f.path = 'Trips/2024/Beach' ORDER BY word").fetchall() == [
        ("2024",), ("beach",), ("trips",)]
    # a name's words, without its folder's ("beach" is the folder's already)
    assert conn.execute(
        "SELECT n.word FROM name_words n JOIN files f ON f.id = n.file_id"
        " WHERE f.name = 'sunset[beach family].jpg' ORDER BY word").fetchall() == [
        ("family",), ("jpg",), ("sunset",)]
    # every start of a word lists its folders in natural order; in_path 0: only names have it
    listed = ("SELECT d.path, w.in_path FROM word_folders w"
              " JOIN folders d ON d.first_id = w.first_id WHERE w.prefix = ? ORDER BY w.first_id")
    assert conn.execute(listed, ("2",)).fetchall() == [("Trips/2023/Lake", 1),
                                                       ("Trips/2024/Beach", 1)]
    assert conn.execute(listed, ("bea",)).fetchall() == [("Trips/2024/Beach", 1)]
    assert conn.execute(listed, ("fam",)).fetchall() == [("Trips/2024/Beach", 0)]
    # the search_words view still lists every word of every path
    assert ("beach", 4) in conn.execute(
        "SELECT word, count(*) FROM search_words GROUP BY word").fetchall()


# Folder names share words and starts (``Day 12`` and ``Day 120``, ``beach`` and ``bea``), so
# the word lists cross many times; names add words some folders lack.
_FOLDER_PARTS = ["Day 1", "Day 12", "Day 120", "beach", "Bear 2", "City 3 [trip]", "c1", "B"]
_NAME_PARTS = ["IMG 1", "img12", "beach", "bea 3", "x", "Day 2"]
_QUERY_WORDS = ["d", "day", "1", "12", "120", "2", "b", "bea", "beach", "bear", "c", "city",
                "3", "img", "jpg", "trip", "x", "zz"]


@st.composite
def folder_trees(draw: st.DrawFn) -> list[str]:
    paths = set()
    for _ in range(draw(st.integers(1, 30))):
        folders = draw(st.lists(st.sampled_from(_FOLDER_PARTS), min_size=0, max_size=4))
        paths.add("/".join([*folders, draw(st.sampled_from(_NAME_PARTS)) + ".jpg"]))
    return sorted(p for p in paths if not any(o.startswith(p + "/") for o in paths))


@pytest.mark.fuzz
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(folder_trees(), folder_trees(), st.lists(st.lists(st.sampled_from(_QUERY_WORDS),
                                                         min_size=1, max_size=3),
                                                min_size=1, max_size=6),
       st.integers(1, 7), st.sampled_from([1, 16]))
def test_folder_words_answer_by_definition_after_full_and_delta_builds(
    tree: list[str], later: list[str], queries: list[list[str]], limit: int, batch: int,
) -> None:
    """Both backends equal the brute-force answer, on a full build and on the delta build
    that adds ``later`` and removes half of ``tree``, however the folders' lists are read."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "BATCH", batch)
        root = make_tree(Path(tmp) / "lib", dict.fromkeys(tree, "x"))
        cache = CacheDir(Path(tmp) / "cache")
        run_scan(root, cache)
        paths = list(tree)
        for build in ("full", "delta"):
            if build == "delta":
                gone = tree[::2]
                for path in gone:
                    (root / path).unlink()
                new = [p for p in later if p not in paths and not any(
                    o.startswith(p + "/") or p.startswith(o + "/") for o in paths)]
                make_tree(root, dict.fromkeys(new, "y"))
                paths = sorted(set(paths) - set(gone) | set(new))
                result = run_scan(root, cache, paths=[*gone, *new])
                assert result.status != "published" or result.mode == "delta"

            async def answers(state: str) -> list[list[str]]:
                snap = await open_snapshot(cache.current, state)
                try:
                    return [[f["path"] for f in await snap.search(" ".join(q), limit)]
                            for q in queries]
                finally:
                    await snap.close()

            for state in ("sqlite", "memory"):
                found = asyncio.run(answers(state))
                assert found == [expected(paths, " ".join(q), limit) for q in queries], (
                    build, state)
