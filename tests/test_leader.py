"""The leader on its own, without an app: its parts start in order and stop in reverse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mediasrv.serve.leader import Leader, LeaderOptions
from mediasrv.settings import Settings

from .support import SMALL_TREE, make_tree


async def test_a_leader_serves_scans_and_stops_every_part(
    tmp_path: Path, settings_for: Callable[..., Settings],
) -> None:
    leader = Leader(settings_for(make_tree(tmp_path / "lib", SMALL_TREE)))
    assert (leader.role, leader.follower, leader.watcher) == ("leader", None, None)
    await leader.start()
    await leader.coordinator.wait_idle()
    assert (leader.library.generation, leader.library.current.file_count) == (1, 7)
    assert leader.stars.favourites._open
    await leader.close()
    with pytest.raises(RuntimeError, match="shut down"):
        leader.coordinator.request("http")
    assert (leader.library.current, leader.stars.favourites._open) == (None, False)
    await leader.close()  # a second close is nothing


async def test_a_follower_never_scans(
    tmp_path: Path, settings_for: Callable[..., Settings],
) -> None:
    leader = Leader(settings_for(make_tree(tmp_path / "lib", SMALL_TREE), follow=True,
                                 watch=True, rescan_interval=1.0))
    assert (leader.role, leader.watcher) == ("follower", None)
    await leader.start()
    try:
        with pytest.raises(RuntimeError, match="shut down"):
            leader.coordinator.request("watch")
        assert leader.follower is not None and leader.follower.info["error"] == (
            "no generation published yet")
        assert leader.watcher_status["state"] == "off"
    finally:
        await leader.close()


async def test_a_part_that_cannot_start_stops_those_started_before_it(
    tmp_path: Path, settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch,
) -> None:
    leader = Leader(settings_for(make_tree(tmp_path / "lib", SMALL_TREE)),
                    LeaderOptions(startup_scan=False))

    async def unreadable() -> bool:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(leader.coordinator, "load_current", unreadable)
    with pytest.raises(OSError, match="Input/output error"):
        await leader.start()
    assert not leader.stars.favourites._open  # opened first, closed again
    with pytest.raises(RuntimeError, match="shut down"):
        leader.coordinator.request("http")
