"""``mediasrv serve`` starts its leader, so its start-up scan's process, before it imports
aiohttp and builds the app (cli/serving.py): the two start-ups overlap, and the first
files of an empty cache are browsable sooner."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mediasrv.server
from mediasrv.cli.serving import run_server
from mediasrv.serve.scanprocess import ScanProcess
from mediasrv.settings import Settings

from .support import SMALL_TREE, make_tree


class _Stop(Exception):
    """Raised where the app would be built: the test has seen what it came for."""


@pytest.mark.process
async def test_the_scan_process_starts_before_the_app_is_built_and_stops_if_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings_for: Callable[..., Settings]
) -> None:
    order: list[str] = []
    leaders: list[Any] = []
    real_start = ScanProcess.start

    async def start(argv: list[str]) -> ScanProcess:
        order.append("scan process")
        return await real_start(argv)

    def create_app(settings: Settings, leader: Any, **options: Any) -> Any:
        order.append("app")
        leaders.append(leader)
        raise _Stop

    monkeypatch.setattr(ScanProcess, "start", start)
    monkeypatch.setattr(mediasrv.server, "create_app", create_app)
    settings = settings_for(make_tree(tmp_path / "lib", SMALL_TREE))
    with socket.create_server(("127.0.0.1", 0)) as sock, pytest.raises(_Stop):
        await run_server(settings, sock, announce=False)
    assert order == ["scan process", "app"]
    (leader,) = leaders
    # The app never ran, so run_server stopped the leader itself: no scan goes on.
    assert leader.coordinator.process is None
    assert leader.coordinator.running is None
