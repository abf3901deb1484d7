"""Shared fixtures: small libraries in tmp_path, and a running app on them.

Plain helpers (trees, media bytes, waiting, live servers) live in ``tests/support``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

from .support import SMALL_TREE, make_app, make_tree


@pytest.fixture
def lib_root(tmp_path: Path) -> Path:
    """The root of a small library with folders, bracket tags and every kind of file."""
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
    started: Callable[..., Any], lib_root: Path, settings_for: Callable[..., Settings]
) -> TestClient:
    """A client on ``lib_root`` (the small tree), index built."""
    return await started(settings_for(lib_root))


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """``local_zone(tz)`` sets this process's local time zone (``TZ``, also what a scan
    process started from here inherits); the old one comes back after the test."""
    before = os.environ.get("TZ")

    def use(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()
