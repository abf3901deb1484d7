"""Browser fixtures: a real mediasrv server in a subprocess, and headless Debian Chromium.

The server runs exactly as a user starts it (``python -m mediasrv serve``, see
``tests/support/live.py``) on a loopback port; Playwright drives ``/usr/bin/chromium``
(it cannot download its own browser here). Plain helpers: ``tests/support/browser.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..support import LiveServer, h264_bytes, make_tree
from ..support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    HOLIDAY,
    Tab,
    browser_server,
    make_library,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, for one test module (then Playwright's loop is gone)."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI"):  # in CI a missing browser is a missing install step
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """``start_server(root)``: a running server whose first scan has finished.

    With ``idle=False`` it returns as soon as the server answers.
    """
    servers: list[LiveServer] = []

    def start(root: Path, name: str = "server", *, idle: bool = True,
              token: str | None = None) -> LiveServer:
        server = browser_server(root, tmp_path / f"{name}-cache", token=token)
        servers.append(server)
        server.wait_idle() if idle else server.wait_listening()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The README's sample library (200 real files), plus a known tag and a 4-second clip."""
    base = tmp_path_factory.mktemp("ui")
    root = base / "lib"
    make_library(root)
    make_tree(root, {**HOLIDAY, "Clips/clip.mp4": h264_bytes(4.0, (320, 240))}, mtime=None)
    server = browser_server(root, base / "cache")
    try:
        server.wait_idle()
        yield server
    finally:
        server.stop()


@pytest.fixture
def tabs(browser: Any) -> Iterator[Any]:
    """``tabs(server, viewport, scale=1, touch=False)``: a new tab (``touch``: with a touch
    screen, for ``page.tap``); script errors fail the test."""
    opened: list[Tab] = []

    def open_tab(server: LiveServer, viewport: dict[str, int] = DESKTOP,
                 scale: float = 1, touch: bool = False) -> Tab:
        tab = Tab(browser, server, viewport, scale, touch)
        opened.append(tab)
        return tab

    yield open_tab
    errors = [e for tab in opened for e in tab.errors]
    for tab in opened:
        tab.close()
    assert errors == []

