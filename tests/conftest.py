"""Shared fixtures: small libraries in tmp_path, and a running app on them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import Leader, LeaderOptions
from mediasrv.server import create_app
from mediasrv.server.keys import COORDINATOR, LIBRARY
from mediasrv.settings import Settings

Tree = Mapping[str | bytes, bytes | str]


def make_tree(root: Path, files: Tree, *, mtime: int | None = 1_600_000_000) -> Path:
    """Create ``files`` ({relative path: content}) under ``root``; returns root.

    A ``bytes`` path is written byte-exact (for names that are not UTF-8).
    ``mtime`` is set on every file so that sizes and times are predictable.
    """
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        raw = rel if isinstance(rel, bytes) else rel.encode()
        path = os.path.join(os.fsencode(root), raw)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return root


SMALL_TREE: dict[str | bytes, bytes | str] = {
    "Trips/2024/Beach/img1.jpg": b"a" * 10,
    "Trips/2024/Beach/img2.jpg": b"b" * 20,
    "Trips/2024/Beach/img10.jpg": b"c" * 30,
    "Trips/2024/Beach/sunset[beach family].jpg": b"d" * 40,
    "Trips/2023/Lake/clip.mp4": b"e" * 50,
    "Music/song.mp3": b"f" * 60,
    "notes.txt": b"g" * 70,
}


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A small library with folders, bracket tags and every kind of file."""
    return make_tree(tmp_path / "lib", SMALL_TREE)


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    def make(root: Path, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "root": root,
            "cache_dir": tmp_path / "cache",
            "watch": False,
            "rescan_interval": 0.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


AppFactory = Callable[..., "web.Application"]


def make_app(settings: Settings, options: LeaderOptions | None = None,
             **app_options: Any) -> web.Application:
    """``create_app`` with a leader built from ``settings`` (as ``mediasrv serve`` does)."""
    return create_app(settings, Leader(settings, options), **app_options)


def worker_command(
    tmp_path: Path, prelude: str = "", *args: str
) -> Callable[[Path, Path], list[str]]:
    """A scan worker ``command`` for the coordinator: the real worker after ``prelude``.

    ``prelude`` is Python run in the worker process first, e.g. to wrap
    ``job.run_scan`` (the worker looks it up there for every request);
    ``args`` are added to the worker's command line (``--prune-every 0``).
    """
    script = tmp_path / f"worker{len(list(tmp_path.glob('worker*.py')))}.py"
    script.write_text(
        "import os, sys, time\n"
        "from mediasrv.scan import job, process\n"
        f"{prelude}\n"
        "sys.exit(process.main(sys.argv[1:]))\n"
    )
    return lambda root, cache: [sys.executable, str(script), str(root), str(cache), *args]


def recording_command(tmp_path: Path) -> Callable[[Path, Path], list[str]]:
    """A scan worker whose results also say what run_scan was given (``seen``) and a ``mode``.

    (``mode`` stands for a key the scan may report that the server does not know.)
    """
    return worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def run_scan(*args, paths=None, full=False, **kwargs):\n"
        "    result = real_run_scan(*args, paths=paths, full=full, **kwargs)\n"
        "    extra = {'mode': 'delta', 'seen': {'paths': paths, 'full': full}}\n"
        "    result.as_dict = lambda known=result.as_dict(): {**known, **extra}\n"
        "    return result\n"
        "job.run_scan = run_scan\n",
    )


def gated_command(tmp_path: Path, gate: Path) -> Callable[[Path, Path], list[str]]:
    """A scan worker whose every scan waits until ``gate`` exists."""
    return worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def gated(*args, **kwargs):\n"
        f"    while not os.path.exists({str(gate)!r}):\n"
        "        time.sleep(0.01)\n"
        "    return real_run_scan(*args, **kwargs)\n"
        "job.run_scan = gated\n",
    )


@pytest.fixture
async def started(
    aiohttp_client: Callable[..., Any],
) -> AsyncIterator[Callable[..., Any]]:
    """``await started(settings, options, **app_options)``: a test client whose first scan
    has finished (``app_options`` go to ``create_app``: ``components=``)."""

    async def start(settings: Settings, options: LeaderOptions | None = None,
                    **app_options: Any) -> TestClient:
        app = make_app(settings, options, **app_options)
        client = await aiohttp_client(app)
        await app[COORDINATOR].wait_idle()
        return client

    yield start


@pytest.fixture
async def client(
    started: Callable[..., Any], library: Path, settings_for: Callable[..., Settings]
) -> TestClient:
    """A client on ``library`` (the small tree), index built."""
    return await started(settings_for(library))


async def rescan(client: TestClient) -> dict[str, Any]:
    """POST /api/rescan?wait=1 and return its JSON."""
    resp = await client.post("/api/rescan?wait=1")
    assert resp.status == 200, await resp.text()
    return await resp.json()


def library_of(client: TestClient) -> Any:
    return client.app[LIBRARY]


WAIT = 30.0  # generous bound for a change to land; the usual case is about a second


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")
        await asyncio.sleep(0.05)


async def status(client: TestClient) -> dict[str, Any]:
    """GET /api/status."""
    resp = await client.get("/api/status")
    assert resp.status == 200
    return await resp.json()


async def paths(client: TestClient, tag: str = "All") -> set[str]:
    """The paths of a tag's files (at most 1000), empty if the tag does not exist."""
    resp = await client.get("/api/files", params={"tag": tag, "limit": "1000"})
    if resp.status == 404:
        return set()
    body = await resp.json()
    return {f["path"] for f in body["files"]}
