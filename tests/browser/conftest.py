"""Browser fixtures: a real mediasrv server in a subprocess, and headless Debian Chromium.

The server runs exactly as a user starts it (``python -m mediasrv serve``) on a
free loopback port; Playwright drives ``/usr/bin/chromium`` (it cannot download
its own browser here).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
# Set MEDIASRV_SCREENSHOTS=docs/screenshots to refresh the README's pictures.
SCREENSHOTS = os.environ.get("MEDIASRV_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``mediasrv serve ROOT`` in a subprocess, on 127.0.0.1."""

    def __init__(self, root: Path, cache: Path, log: Path, *, token: str | None = None) -> None:
        self.root, self.cache, self.log_path = root, cache, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv", "serve", str(root), "--cache-dir", str(cache),
             "--port", str(self.port), "--no-watch", "--rescan-interval", "0",
             *(["--token", token] if token else [])],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
        )

    def get_json(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.load(resp)

    def status(self) -> dict[str, Any]:
        return dict(self.get_json("/api/status"))

    def wait_idle(self, timeout: float = 50) -> dict[str, Any]:
        """Wait until an index is served and no scan is running or queued."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mediasrv exited: {self.log_path.read_text()[-2000:]}")
            try:
                status = self.status()
                if status["generation"] is not None and not status["scanning"] \
                        and status["queued"] is None:
                    return status
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"mediasrv not idle: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def wait_listening(self, timeout: float = 30) -> None:
        """Wait until the server answers HTTP (its index may still be building)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mediasrv exited: {self.log_path.read_text()[-2000:]}")
            try:
                self.status()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def make_library(root: Path, files: int = 200, *, empty: bool = False) -> None:
    """The sample library the README makes (real JPEG, PNG, H.264 and MP3 files)."""
    subprocess.run(
        [sys.executable, str(REPO / "scripts/make_library.py"), str(root), "--files", str(files),
         *(["--empty"] if empty else [])],
        check=True, stdout=subprocess.DEVNULL,
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
    servers: list[Server] = []

    def start(root: Path, name: str = "server", *, idle: bool = True,
              token: str | None = None) -> Server:
        server = Server(root, tmp_path / f"{name}-cache", tmp_path / f"{name}.log", token=token)
        servers.append(server)
        server.wait_idle() if idle else server.wait_listening()
        return server

    yield start
    for server in servers:
        server.stop()


# -- shared by the UI tests ------------------------------------------------------

COLORS = [(200, 60, 60), (60, 160, 90), (60, 90, 200), (220, 170, 50), (150, 70, 190)]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _holiday() -> dict[str | bytes, bytes | str]:
    from ..test_thumbs import jpeg_bytes

    return {f"Holiday/img{i + 1}.jpg": jpeg_bytes((800, 600), c) for i, c in enumerate(COLORS)}


HOLIDAY = _holiday()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The README's sample library (200 real files), plus a known tag and a 4-second clip."""
    from ..conftest import make_tree
    from ..test_thumbs import h264_bytes

    base = tmp_path_factory.mktemp("ui")
    root = base / "lib"
    make_library(root)
    make_tree(root, {**HOLIDAY, "Clips/clip.mp4": h264_bytes(4.0, (320, 240))}, mtime=None)
    server = Server(root, base / "cache", base / "server.log")
    try:
        server.wait_idle()
        yield server
    finally:
        server.stop()


class Tab:
    """A browser page on one server, collecting script errors as it goes."""

    def __init__(self, browser: Any, server: Server, viewport: dict[str, int],
                 scale: float = 1) -> None:
        self.context = browser.new_context(viewport=viewport, base_url=server.url,
                                           device_scale_factor=scale)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser: Any) -> Iterator[Any]:
    """``tabs(server, viewport, scale=1)``: a new tab; script errors fail the test."""
    opened: list[Tab] = []

    def open_tab(server: Server, viewport: dict[str, int] = DESKTOP, scale: float = 1) -> Tab:
        tab = Tab(browser, server, viewport, scale)
        opened.append(tab)
        return tab

    yield open_tab
    errors = [e for tab in opened for e in tab.errors]
    for tab in opened:
        tab.close()
    assert errors == []


def screenshot(page: Any, name: str, tmp_path: Path, *, full_page: bool = False) -> None:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def thumbnails_loaded(page: Any) -> None:
    """Every thumbnail in the window has loaded (ones scrolled past may never load: lazy)."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.tile img'))"
        ".filter(i => { const r = i.getBoundingClientRect();"
        " return r.top < innerHeight && r.bottom > 0; })"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
