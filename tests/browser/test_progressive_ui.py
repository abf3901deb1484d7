"""A first walk in the browser: the banner says how far it is, a page not found yet waits.

The server is the app ``mediasrv serve`` builds, run in a thread of this
process on a loopback port, so that its scan process can be one whose walk is
held after its first folder (``held_walk_command``) until the test opens the
gate.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mediasrv.serve.leader import LeaderOptions

from ..support import held_walk_command, make_app, make_tree
from ..support.waiting import blocking_until

pytestmark = pytest.mark.browser

SIX = {f"f{i}/img{j}.jpg": "" for i in range(6) for j in range(3)}


class ThreadServer:
    """``app`` served on 127.0.0.1 by an event loop in a thread; ``url`` as LiveServer's."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(app)

        async def up() -> int:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return int(self.runner.addresses[0][1])

        port = asyncio.run_coroutine_threadsafe(up(), self.loop).result(60)
        self.url = f"http://127.0.0.1:{port}"

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/api/status", timeout=30) as resp:
            return dict(json.loads(resp.read()))

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture
def held(tmp_path: Path, settings_for: Any) -> Iterator[tuple[ThreadServer, Path]]:
    """(server, gate): a server on an empty cache whose first walk waits for ``gate``."""
    root = make_tree(tmp_path / "lib", SIX)
    gate = tmp_path / "gate"
    server = ThreadServer(
        make_app(settings_for(root), LeaderOptions(scan_command=held_walk_command(tmp_path, gate)))
    )
    yield server, gate
    gate.touch()
    server.stop()


@pytest.mark.timeout(120)
def test_a_first_walk_is_shown_as_it_goes(held: tuple[ThreadServer, Path], tabs: Any) -> None:
    server, gate = held
    # Playwright's own event loop runs in this thread: wait without one.
    blocking_until(lambda: server.status()["generation"] is not None, "a first part served")
    tab = tabs(server).page
    tab.goto("/tag/f5")  # not walked yet
    assert tab.locator("h1").inner_text() == "Not found yet"
    banner = tab.locator("#banner")
    banner.wait_for(state="visible")
    tab.wait_for_function(
        "() => document.getElementById('banner-text').textContent"
        ".startsWith('Indexing the library… 3 files found in 2 folders')"
    )

    gate.touch()
    tab.locator(".tile").first.wait_for()  # the page reloaded itself once f5 was served
    assert tab.locator(".tile .name").all_inner_texts() == ["img0.jpg", "img1.jpg", "img2.jpg"]
    blocking_until(lambda: server.status()["complete"], "the complete index")
