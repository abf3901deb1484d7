"""One tag per word: names that differ only in letter case are one tag (issue 22, part 7)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.index.cachedir import CacheDir
from mediasrv.names import shown_spelling, tag_key
from mediasrv.scan.job import run_scan
from mediasrv.settings import Settings

from .conftest import make_tree, rescan
from .test_delta import content, full_rebuild

BEACH = {"Beach/a.jpg": "1", "Beach/b.jpg": "22", "x/c[beach].jpg": "333"}


def tags_and_spellings(db: Path) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    conn = sqlite3.connect(db)
    try:
        tags = conn.execute("SELECT name, key, file_count FROM tags ORDER BY id").fetchall()
        spellings = conn.execute(
            "SELECT t.name, s.name, s.file_count FROM tag_spellings AS s"
            " JOIN tags AS t ON t.id = s.tag_id ORDER BY t.id, s.name").fetchall()
        return tags, spellings
    finally:
        conn.close()


# -- names ---------------------------------------------------------------------------

def test_the_key_folds_case_and_reads_undecodable_bytes_as_displayed() -> None:
    assert tag_key("Beach") == tag_key("BEACH") == tag_key("beach") == "beach"
    assert tag_key("Straße") == tag_key("STRASSE") == "strasse"
    # Names that are not UTF-8 fold from their display text: their bad bytes look alike.
    assert tag_key(b"CAF\xe9".decode("utf-8", "surrogateescape")) == "caf\ufffd"
    assert tag_key(b"caf\xff".decode("utf-8", "surrogateescape")) == "caf\ufffd"


def test_the_shown_spelling_is_the_most_common_then_the_first_in_natural_order() -> None:
    assert shown_spelling({"Beach": 2, "beach": 3}) == "beach"
    assert shown_spelling({"beach": 2, "Beach": 2, "BEACH": 1}) == "Beach"
    assert shown_spelling({"All": 1, "all": 1, "ALL": 5}) == "All"  # every file is in All


# -- the index -----------------------------------------------------------------------

def test_a_folder_and_a_bracket_tag_of_one_word_are_one_tag(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {**BEACH, "Beach/d[BEACH].jpg": "4444"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    tags, spellings = tags_and_spellings(cache.current)
    assert tags == [("All", "all", 4), ("Beach", "beach", 4), ("x", "x", 1)]
    assert spellings == [("All", "All", 4), ("Beach", "BEACH", 1), ("Beach", "Beach", 3),
                         ("Beach", "beach", 1), ("x", "x", 1)]
    conn = sqlite3.connect(cache.current)
    assert conn.execute("SELECT path FROM file_tags_v WHERE tag = 'Beach'").fetchall() == [
        ("Beach/a.jpg",), ("Beach/b.jpg",), ("Beach/d[BEACH].jpg",), ("x/c[beach].jpg",)]
    assert conn.execute("SELECT count(*) FROM taken_order WHERE tag = 'Beach'").fetchone() == (4,)
    assert conn.execute("SELECT sum(count) FROM tag_months_v WHERE tag = 'Beach'").fetchone() == (
        4,)
    assert conn.execute("SELECT DISTINCT tag FROM file_tags_v WHERE tag = 'beach'").fetchall() == []


def test_a_delta_changes_the_shown_name_when_the_majority_changes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", BEACH)
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    assert tags_and_spellings(cache.current)[0][1] == ("Beach", "beach", 3)
    make_tree(root, {"y/d[beach].jpg": "4", "y/e[beach].jpg": "5"})
    result = run_scan(root, cache)
    assert (result.mode, result.added) == ("delta", 2)
    tags, spellings = tags_and_spellings(cache.current)
    assert ("beach", "beach", 5) in tags and ("Beach", "beach", 5) not in tags
    assert [s for s in spellings if s[0] == "beach"] == [("beach", "Beach", 2),
                                                        ("beach", "beach", 3)]
    assert content(cache.current) == full_rebuild(root)
    for name in ("y/d[beach].jpg", "y/e[beach].jpg"):
        os.unlink(root / name)
    assert run_scan(root, cache).mode == "delta"
    assert tags_and_spellings(cache.current)[0][1] == ("Beach", "beach", 3)  # a tie: Beach
    assert content(cache.current) == full_rebuild(root)


def test_folders_named_all_are_all(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"ALL/a.jpg": "1", "all/b.jpg": "2"})
    cache = CacheDir(tmp_path / "cache")
    run_scan(root, cache)
    assert tags_and_spellings(cache.current)[0] == [("All", "all", 2)]


# -- HTTP ----------------------------------------------------------------------------

@pytest.fixture
async def beach(started: Callable[..., Any], settings_for: Callable[..., Settings],
                tmp_path: Path) -> TestClient:
    root = make_tree(tmp_path / "lib", {**BEACH, "FAVOURITES/f.jpg": "5"})
    return await started(settings_for(root))


async def test_the_api_takes_any_spelling_and_answers_with_the_shown_name(
    beach: TestClient,
) -> None:
    tags = (await (await beach.get("/api/tags")).json())["tags"]
    assert [(t["name"], t["count"]) for t in tags] == [
        ("All", 4), ("Favourites", 0), ("Beach", 3), ("x", 1)]
    for spelling in ("Beach", "beach", "BEACH"):
        files = await (await beach.get(f"/api/files?tag={spelling}&sort=taken")).json()
        assert (files["tag"], files["total"]) == ("Beach", 3)
        months = await (await beach.get(f"/api/months?tag={spelling}")).json()
        assert (months["tag"], sum(m["count"] for m in months["months"])) == ("Beach", 3)
        found = await (await beach.get(f"/api/search?q=c&tag={spelling}")).json()
        assert (found["tag"], [f["path"] for f in found["files"]]) == ("Beach",
                                                                       ["x/c[beach].jpg"])
        one = await (await beach.get("/api/file", params={"path": "x/c[beach].jpg",
                                                          "tag": spelling})).json()
        assert (one["tag"], one["position"], one["total"]) == ("Beach", 2, 3)
        picked = await (await beach.get(f"/api/random?tag={spelling}")).json()
        assert picked["tag"] == "Beach" and picked["file"]["path"] in {
            "Beach/a.jpg", "Beach/b.jpg", "x/c[beach].jpg"}
    # The folder FAVOURITES is hidden behind the stars' tag, as Favourites was.
    stars = await (await beach.get("/api/files?tag=favourites")).json()
    assert (stars["tag"], stars["total"]) == ("Favourites", 0)
    archive = await beach.get("/api/zip?tag=bEACH")
    assert archive.status == 200 and "Beach" in archive.headers["Content-Disposition"]
    assert len(await archive.read()) == int(archive.headers["Content-Length"])
    missing = await beach.get("/api/files?tag=BEACHES")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "unknown_tag"


async def test_pages_redirect_another_spelling_to_the_shown_one(beach: TestClient) -> None:
    resp = await beach.get("/tag/BEACH?sort=taken&page=1", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/tag/Beach?sort=taken&page=1")
    resp = await beach.get("/tag/beach", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/tag/Beach")
    assert (await beach.get("/tag/Beach", allow_redirects=False)).status == 200
    resp = await beach.get("/view/beach/x/c%5Bbeach%5D.jpg?sort=taken", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (
        302, "/view/Beach/x/c%5Bbeach%5D.jpg?sort=taken")
    resp = await beach.get("/random/bEACH", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/view/Beach/")
    assert (await beach.get("/tag/beaches", allow_redirects=False)).status == 404


async def test_a_link_to_the_old_shown_name_follows_the_tag(
    beach: TestClient, tmp_path: Path,
) -> None:
    make_tree(tmp_path / "lib", {"y/d[beach].jpg": "4", "y/e[beach].jpg": "5"})
    assert (await rescan(beach))["status"] == "published"
    resp = await beach.get("/tag/Beach", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/tag/beach")
    files = await (await beach.get("/api/files?tag=Beach")).json()
    assert (files["tag"], files["total"]) == ("beach", 5)
