"""The user database (favourites.db): one file that a plain copy backs up, migrated in place."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediasrv.settings import Settings
from mediasrv.userdata import store

from .support import make_tree


def held(copy: Path) -> tuple[set[str], set[str]]:
    """(starred paths, share ids) in a copy of the user database."""
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stars = {path for (path,) in conn.execute("SELECT path FROM favourites")}
        shares = {share_id for (share_id,) in conn.execute("SELECT id FROM shares")}
    conn.close()
    return stars, shares


async def test_a_plain_copy_taken_during_writes_holds_every_committed_one(
        started: Callable[..., Any], tmp_path: Path,
        settings_for: Callable[..., Settings]) -> None:
    names = [f"a/{n}.jpg" for n in range(200)]
    root = make_tree(tmp_path / "lib", dict.fromkeys(names, b"x"))
    client = await started(settings_for(root))
    user_db = tmp_path / "cache" / store.FILE_NAME
    stars: list[str] = []  # answered, so committed
    shares: list[str] = []
    written, failed = threading.Event(), threading.Event()

    async def write() -> None:
        try:
            for n, name in enumerate(names):
                if failed.is_set():
                    return
                resp = await client.put(f"/api/favourites?path={name}")
                assert resp.status == 200
                stars.append(name)
                if n % 3 == 0:
                    resp = await client.post("/api/shares?tag=a")
                    assert resp.status == 201
                    shares.append((await resp.json())["id"])
        finally:
            written.set()

    def copy_while_writing() -> int:
        made = 0
        try:
            while not written.is_set():
                stars_before, shares_before = set(stars), set(shares)
                copy = tmp_path / "copy.db"
                shutil.copyfile(user_db, copy)  # the main file alone, as cp would
                held_stars, held_shares = held(copy)
                assert stars_before <= held_stars and shares_before <= held_shares
                made += 1
        except BaseException:
            failed.set()
            raise
        return made

    writer = asyncio.get_running_loop().create_task(write())
    assert await asyncio.to_thread(copy_while_writing) >= 1  # ~1000 here, during ~270 writes
    await writer
    assert held(user_db) == (set(stars), set(shares))
    assert not (tmp_path / "cache" / (store.FILE_NAME + "-wal")).exists()


def version_1(path: Path) -> None:
    """A favourites.db as version 1 wrote it: WAL, the stars table, user_version 1."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(store.STEPS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO favourites VALUES ('Trips/a.jpg', NULL, 1700000000)")
    conn.commit()
    conn.close()


def test_a_version_1_file_is_migrated_in_place_keeping_its_stars(tmp_path: Path) -> None:
    path = tmp_path / store.FILE_NAME
    version_1(path)
    user = store.UserStore(path)
    user.upgrade()

    def read(conn: sqlite3.Connection) -> tuple[Any, ...]:
        return (conn.execute("PRAGMA user_version").fetchone(),
                conn.execute("PRAGMA journal_mode").fetchone(),
                conn.execute("SELECT path, starred_at FROM favourites").fetchall(),
                conn.execute("SELECT count(*) FROM shares").fetchone())

    expected = ((2,), ("delete",), [("Trips/a.jpg", 1700000000)], (0,))
    assert user.read(read, None)[0] == expected
    before = user.identity()
    user.upgrade()  # a second start changes nothing
    assert (user.identity(), user.read(read, None)[0]) == (before, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [store.FILE_NAME]


async def test_a_server_opens_a_version_1_file_and_shares_beside_its_stars(
        started: Callable[..., Any], tmp_path: Path,
        settings_for: Callable[..., Settings]) -> None:
    root = make_tree(tmp_path / "lib", {"Trips/a.jpg": b"x"})
    (tmp_path / "cache").mkdir()
    version_1(tmp_path / "cache" / store.FILE_NAME)
    client = await started(settings_for(root))
    body = await (await client.get("/api/files?tag=Favourites")).json()
    assert [f["path"] for f in body["files"]] == ["Trips/a.jpg"]
    assert (await client.post("/api/shares?tag=Favourites")).status == 201
