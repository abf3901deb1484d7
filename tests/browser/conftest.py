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

    def __init__(self, root: Path, cache: Path, log: Path) -> None:
        self.root, self.cache, self.log_path = root, cache, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv", "serve", str(root), "--cache-dir", str(cache),
             "--port", str(self.port), "--no-watch", "--rescan-interval", "0"],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
        )

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
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


def make_library(root: Path, files: int, *, empty: bool = False) -> None:
    """The sample library generator the README uses (real JPEG, PNG, H.264 and WAV files)."""
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

    def start(root: Path, name: str = "server", *, idle: bool = True) -> Server:
        server = Server(root, tmp_path / f"{name}-cache", tmp_path / f"{name}.log")
        servers.append(server)
        server.wait_idle() if idle else server.wait_listening()
        return server

    yield start
    for server in servers:
        server.stop()
