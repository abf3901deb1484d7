"""Helpers of the browser tests: Debian's Chromium, the sample library, tabs, screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .live import LiveServer
from .media import jpeg_bytes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
# Set MEDIASRV_SCREENSHOTS=docs/screenshots to refresh the README's pictures.
SCREENSHOTS = os.environ.get("MEDIASRV_SCREENSHOTS")

COLORS = [(200, 60, 60), (60, 160, 90), (60, 90, 200), (220, 170, 50), (150, 70, 190)]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
HOLIDAY = {f"Holiday/img{i + 1}.jpg": jpeg_bytes((800, 600), c) for i, c in enumerate(COLORS)}


def browser_server(root: Path, cache: Path, *, token: str | None = None) -> LiveServer:
    """The server the UI tests drive: no watcher, no periodic rescan, a port of its own."""
    return LiveServer(root, "--cache-dir", cache, "--port", "0", "--no-watch",
                      "--rescan-interval", "0", *(["--token", token] if token else []),
                      token=token)


def make_library(root: Path, files: int = 200, *, empty: bool = False) -> None:
    """The sample library the README makes (real JPEG, PNG, H.264 and MP3 files)."""
    subprocess.run(
        [sys.executable, str(REPO / "scripts/make_library.py"), str(root), "--files", str(files),
         *(["--empty"] if empty else [])],
        check=True, stdout=subprocess.DEVNULL,
    )


class Tab:
    """A browser page on one server, collecting script errors as it goes."""

    def __init__(self, browser: Any, server: LiveServer, viewport: dict[str, int],
                 scale: float = 1, touch: bool = False) -> None:
        self.context = browser.new_context(viewport=viewport, base_url=server.url,
                                           device_scale_factor=scale, has_touch=touch)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.context.close()


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


# Every file the slideshow shows, in order, and how it moved on to it (timer, ended).
RECORD = """() => {
    window.shown = [];
    new MutationObserver(() => {
        const name = document.getElementById('show-name');
        const show = document.getElementById('show');
        if (name && name.textContent && window.shown.at(-1)?.name !== name.textContent)
            window.shown.push({name: name.textContent, by: show.dataset.advancedBy || null,
                               at: performance.now()});
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def shown(page: Any) -> list[str]:
    return [entry["name"] for entry in page.evaluate("window.shown")]


def wait_shown(page: Any, name: str) -> None:
    page.wait_for_function("name => window.shown.some(s => s.name === name)", arg=name)


# Every text an element shows, in order, kept in ``window.texts[id]``: a text a page
# shows for a moment (a fast scan's progress, between its start and its end) is seen
# even when no poll falls in that moment (a loaded machine's frames are far apart).
RECORD_TEXTS = """id => {
    window.texts = window.texts || {};
    const seen = window.texts[id] = [];
    const element = document.getElementById(id);
    new MutationObserver(() => seen.push(element.textContent))
        .observe(element, {subtree: true, childList: true, characterData: true});
}"""


def record_texts(page: Any, element_id: str) -> None:
    """From now on, keep every text the element ``element_id`` shows (``wait_text_seen``)."""
    page.evaluate(RECORD_TEXTS, element_id)


def wait_text_seen(page: Any, element_id: str, start: str) -> None:
    """Wait until the element recorded by ``record_texts`` has shown a text starting with
    ``start``, for however short a time."""
    page.wait_for_function(
        "([id, start]) => window.texts[id].some(text => text.startsWith(start))",
        arg=[element_id, start])
