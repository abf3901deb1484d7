"""Both snapshot backends answer every query identically (``--state sqlite`` and ``memory``).

Each tree is scanned once; two apps serve the same published generation file,
one per backend, and every request goes to both. Their answers must be equal
byte for byte as JSON, apart from ``state`` in /api/status.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.index.cachedir import CacheDir
from mediasrv.names import search_words
from mediasrv.scan.job import run_scan
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import LIBRARY, RNG
from mediasrv.settings import Settings

from .support import (
    OFFSET_ORIGINAL,
    ORIGINAL,
    SMALL_TREE,
    Tree,
    camera_jpeg,
    make_app,
    make_tree,
    song_bytes,
)
from .support import dated as with_exif

BACKENDS = ("sqlite", "memory")
DRAWS = [0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.999999, 0.9999999999999999, 1.0, -0.01, -0.5]


def q(text: str) -> str:
    """A query-string value, byte-exact for names that are not UTF-8."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="")


class Pair:
    """Two clients on the same generation, one per backend; every request goes to both."""

    def __init__(self, clients: dict[str, TestClient]) -> None:
        self.clients = clients
        self.requests = 0

    async def get(self, url: str) -> tuple[int, Any]:
        answers = {}
        for name, client in self.clients.items():
            resp = await client.get(url)
            body = await resp.json()
            if url.startswith("/api/status"):
                assert body.pop("state") == name
            answers[name] = (resp.status, body)
        self.requests += 1
        assert answers["sqlite"] == answers["memory"], url
        return answers["sqlite"]

    async def put(self, url: str) -> None:
        """A write, on both (they share the cache dir, so it is the same star twice)."""
        answers = []
        for client in self.clients.values():
            resp = await client.put(url)
            answers.append((resp.status, await resp.json()))
        assert answers[0] == answers[1], url

    async def ok(self, url: str) -> Any:
        status, body = await self.get(url)
        assert status == 200, (url, body)
        return body


async def compare_everything(root: Path, cache_dir: Path, *, scan: bool = True) -> int:
    """Scan ``root`` once, serve it with both backends, compare every answer; requests made."""
    if scan:
        await asyncio.to_thread(run_scan, root, CacheDir(cache_dir))
    clients = {}
    try:
        for state in BACKENDS:
            app = make_app(
                Settings(root=root, cache_dir=cache_dir, watch=False, rescan_interval=0.0,
                         state=state),
                LeaderOptions(startup_scan=False), components=[],
            )
            client = TestClient(TestServer(app, host="127.0.0.1"))
            await client.start_server()
            clients[state] = client
            app[RNG].seed(20240601)  # both draw the same random sequence
        pair = Pair(clients)
        await walk_api(pair)
        await compare_random_draws(clients)
        return pair.requests
    finally:
        for client in clients.values():
            await client.close()


async def walk_api(pair: Pair) -> None:
    await pair.ok("/api/status")
    everything = [f["path"] for f in (await pair.ok("/api/files?limit=1000"))["files"]]
    for path in everything[1::3]:  # a few stars, so the Favourites tag has files
        await pair.put(f"/api/favourites?path={q(path)}")
    tags = [t["name"] for t in (await pair.ok("/api/tags"))["tags"]]
    for tag in tags:
        page = await pair.ok(f"/api/files?tag={q(tag)}&limit=1000")
        members = [f["path"] for f in page["files"]]
        total = len(members)
        newest = await pair.ok(f"/api/files?tag={q(tag)}&limit=1000&sort=taken")
        assert sorted(f["path"] for f in newest["files"]) == sorted(members)
        months = (await pair.ok(f"/api/months?tag={q(tag)}"))["months"]
        assert sum(m["count"] for m in months) == total
        for other in {tag.upper(), tag.lower()} - {tag}:  # any spelling is the same tag
            assert (await pair.ok(f"/api/files?tag={q(other)}&limit=1000"))["files"] == \
                page["files"]
            assert (await pair.ok(f"/api/months?tag={q(other)}"))["months"] == months
        for offset, limit in [(0, 1), (1, 2), (3, 1), (total // 2, 2), (max(total - 1, 0), 1),
                              (max(total - 1, 0), 5), (total, 5), (total + 7, 1)]:
            await pair.ok(f"/api/files?tag={q(tag)}&offset={offset}&limit={limit}")
            await pair.ok(f"/api/files?tag={q(tag)}&offset={offset}&limit={limit}&sort=taken")
        # Neighbours at both ends and in between, and a file outside the tag, in both orders.
        for path in {*members[:2], *members[-2:], *members[total // 2: total // 2 + 1]}:
            await pair.ok(f"/api/file?path={q(path)}&tag={q(tag)}")
            await pair.ok(f"/api/file?path={q(path)}&tag={q(tag)}&sort=taken")
        outside = [p for p in everything if p not in set(members)]
        if outside:
            await pair.get(f"/api/file?path={q(outside[0])}&tag={q(tag)}")
            await pair.get(f"/api/file?path={q(outside[0])}&tag={q(tag)}&sort=taken")
        for _ in range(3):
            await pair.get(f"/api/random?tag={q(tag)}")
        for word in sorted({w for p in members[:3] for w in search_words(p)})[:4]:
            await pair.ok(f"/api/search?q={q(word)}")
            await pair.ok(f"/api/search?q={q(word[:1])}&limit=2")
            await pair.ok(f"/api/search?q={q(word.upper() + ' ' + tag)}")
            await pair.ok(f"/api/search?q={q(word)}&tag={q(tag)}&limit=3")
    for path in everything[:3]:
        await pair.ok(f"/api/file?path={q(path)}")
    for url in [
        "/api/files?tag=No%20such%20tag", "/api/files?tag=%FF%FE", "/api/file?path=nope.jpg",
        "/api/file?path=nope.jpg&tag=No%20such%20tag", "/api/file", "/api/file?path=",
        "/api/random?tag=No%20such%20tag", "/api/files?offset=-1", "/api/files?limit=0",
        "/api/files?limit=1001", "/api/files?offset=x", "/api/search?q=", "/api/search?q=%21%21",
        "/api/search?q=zzzqqqxx", "/api/search?q=a&limit=0", "/api/search?q=%FF",
        "/api/files?tag=&offset=0", "/api/random", "/api/search?q=a&tag=No%20such%20tag",
        "/api/search?q=&tag=No%20such%20tag", "/api/files?sort=date", "/api/files?sort=",
        "/api/file?path=nope.jpg&sort=taken", "/api/files?tag=No%20such%20tag&sort=taken",
        "/api/months?tag=No%20such%20tag", "/api/months?tag=a&tag=b", "/api/months",
    ]:
        await pair.get(url)


async def compare_random_draws(clients: dict[str, TestClient]) -> None:
    snaps = {name: c.app[LIBRARY].current for name, c in clients.items()}
    for tag, _ in await snaps["sqlite"].tags():
        picks = {name: await snap.random(tag, DRAWS) for name, snap in snaps.items()}
        assert picks["sqlite"] == picks["memory"], tag
    _, every = await snaps["sqlite"].page("All", 0, 1000) if snaps["sqlite"].file_count else (0, [])
    wanted = [f["path"] for f in reversed(every[::2])] + ["no/such.jpg", "caf\ufffd/\ufffd.jpg"]
    found = {name: await snap.lookup(wanted) for name, snap in snaps.items()}
    assert found["sqlite"] == found["memory"] == every[::2]
    for name, snap in snaps.items():
        assert snap.state == name
    # The home page's covers (each tag's newest file) and the folders that group its tags.
    assert await snaps["sqlite"].covers() == await snaps["memory"].covers()
    assert await snaps["sqlite"].folder_names() == await snaps["memory"].folder_names()


def spread_mtimes(root: Path) -> None:
    """Modification times about five weeks apart, some alike: what sort=taken falls back on,
    in several months."""
    for dirpath, _, names in os.walk(os.fsencode(root)):
        for name in names:
            path = os.path.join(dirpath, name)
            when = 1_600_000_000 + os.path.getsize(path) % 4 * 3_000_000
            os.utime(path, (when, when))


def run(tree: Tree, workdir: Path) -> int:
    root = make_tree(workdir / "lib", tree)
    spread_mtimes(root)
    return asyncio.run(compare_everything(root, workdir / "cache"))


FIXED_TREES: dict[str, Tree] = {
    "small": SMALL_TREE,
    "not utf-8": {b"caf\xe9/\xff.jpg": b"1", b"caf\xe9/ok[\xe9t\xe9 x].png": b"22",
                  "ok.jpg": b"333", b"Sp\xe4t/img2.jpg": b"4"},
    "natural order and case": {
        "a/img10.jpg": b"1", "a/img2.jpg": b"2", "a/img02.jpg": b"3", "a/IMG2.JPG": b"4",
        "a/img1.jpg": b"5", "ab/img1.jpg": b"6", "a b/x.mp3": b"7", "A/x.mp4": b"8",
        "Straße/STRASSE[ß İstanbul].jpg": b"9", "日本/写真 1.jpg": b"10", "README": b"11",
    },
    "dates taken": {  # real photos: EXIF dates, one with an offset, one without any
        "Cam/a.jpg": with_exif({ORIGINAL: "2019:05:01 10:00:00", OFFSET_ORIGINAL: "+00:00"}),
        "Cam/b[x].jpg": with_exif({ORIGINAL: "2021:01:01 08:00:00"}),
        "Cam/c.jpg": with_exif({}), "Cam/old/d.jpg": with_exif({ORIGINAL: "2001:02:03 04:05:06"}),
        "e.txt": b"no date",
    },
    "cameras and songs": {  # file_details and file_audio; a song's artist, album, genre as tags
        "Cam/a.jpg": camera_jpeg(), "Cam/b.jpg": camera_jpeg("EOS R6", gps=False),
        "Music/a.mp3": song_bytes("mp3", artist="Band", album="Cam", genre="Rock\0Pop",
                                  tracknumber="1"),
        "Music/b.ogg": song_bytes("ogg", artist="band", album="Live", title="Two"),
        "Music/c.flac": song_bytes("flac"), "Cam/c.mp3": song_bytes("mp3", artist="Beach"),
    },
    "one tag per word": {  # tags that differ only in letter case are one
        "Beach/a.jpg": b"1", "Beach/b.jpg": b"22", "x/c[beach].jpg": b"333",
        "Family/d[family].jpg": b"4", "y/e[FAMILY].jpg": b"5", "y/f[family].jpg": b"66",
        "favourites/g.jpg": b"7", "ALL/h.jpg": b"8", b"caf\xe9/i.jpg": b"9",
        b"CAF\xe9/j[Caf\xe9].jpg": b"10",
    },
    "one file": {"only.jpg": b"x"},
    "empty": {},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIXED_TREES))
def test_backends_agree_on_fixed_trees(tmp_path: Path, name: str) -> None:
    assert run(FIXED_TREES[name], tmp_path) > 20


# -- generated trees ------------------------------------------------------

_CHARS = "abcxyzXYZ0129 _-()éßİ日本"


@st.composite
def components(draw: st.DrawFn) -> bytes:
    """A folder or file-stem name: letters, digits, unicode, sometimes bytes that are not UTF-8."""
    text = draw(st.one_of(
        st.text(alphabet=_CHARS, min_size=1, max_size=8),
        st.builds(lambda n, pad: f"img{n:0{pad}d}", st.integers(0, 120), st.integers(1, 3)),
    ))
    raw = text.encode()
    if draw(st.integers(0, 5)) == 0:  # one in six: an undecodable byte somewhere
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3"])) + raw[at:]
    return raw


@st.composite
def trees(draw: st.DrawFn) -> dict[bytes, bytes]:
    pool = draw(st.lists(components(), min_size=1, max_size=4, unique=True))
    files: dict[bytes, bytes] = {}
    for _ in range(draw(st.integers(1, 12))):
        folders = draw(st.lists(st.sampled_from(pool), max_size=3))
        stem = draw(components())
        tags = draw(st.lists(st.sampled_from([*pool, b"beach", b"Beach"]), max_size=2))
        if tags:
            stem += b"[" + b" ".join(tags) + b"]"
        ext = draw(st.sampled_from([b".jpg", b".JPG", b".png", b".mp4", b".mp3", b".txt", b""]))
        path = b"/".join([*folders, stem + ext])
        files[path] = b"x" * draw(st.integers(0, 9))
    # A path cannot be both a file and a folder.
    return {p: c for p, c in files.items() if not any(o.startswith(p + b"/") for o in files)}


@pytest.mark.fuzz
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tree=trees())
def test_backends_agree_on_generated_trees(tree: Mapping[bytes, bytes]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        assert run(tree, Path(workdir)) > 20


def rewrite(root: Path, tree: Mapping[bytes, bytes]) -> None:
    """Make the files under ``root`` exactly ``tree`` (folders left empty stay)."""
    broot = os.fsencode(root)
    for dirpath, _, names in os.walk(broot):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.relpath(path, broot) not in tree:
                os.unlink(path)
    for rel, data in tree.items():
        path = os.path.join(broot, rel)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


@pytest.mark.fuzz
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(before=trees(), after=trees())
def test_backends_agree_on_delta_built_generations(
    before: Mapping[bytes, bytes], after: Mapping[bytes, bytes]
) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        root = make_tree(Path(workdir) / "lib", dict(before))
        cache = CacheDir(Path(workdir) / "cache")
        run_scan(root, cache)
        rewrite(root, after)
        result = run_scan(root, cache)
        assert result.mode in ("delta", None), result  # None: nothing changed
        assert asyncio.run(compare_everything(root, cache.path, scan=False)) > 20
