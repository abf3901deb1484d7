"""What a person reads in the log: one summary line per scan; warnings only for what needs one."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path

import pytest

from mediasrv.scan.walk import WalkStats
from mediasrv.serve.scanprocess import relay_level
from mediasrv.server.keys import COORDINATOR, LEADER, LIBRARY

from .conftest import make_tree

pytestmark = pytest.mark.timeout(120)

SUMMARY = re.compile(r"scan \d+ \(watch\): generation \d+ served, (?P<files>\d+) files "
                     r"\(\+0 -(?P<removed>\d+) ~0\), \d+\.\d\d s")
# A second batch of the watcher's may find nothing left to do.
NO_CHANGE = re.compile(r"scan \d+ \(watch\): no change, 1 files, \d+\.\d\d s")


async def test_deleting_a_folder_while_serving_is_news_not_a_warning(  # type: ignore[no-untyped-def]
    started, settings_for, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_tree(tmp_path / "lib", {
        **{f"Old/Trip/p{i:03d}.txt": "x" for i in range(85)}, "Keep/a.txt": "a",
    })
    client = await started(settings_for(root, watch=True))
    coordinator, library = client.app[COORDINATOR], client.app[LIBRARY]
    while client.app[LEADER].watcher.status["state"] != "watching":  # type: ignore[union-attr]
        await asyncio.sleep(0.02)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    ran = coordinator.scans_run
    shutil.rmtree(root / "Old")
    while library.current.file_count != 1 or coordinator.running or coordinator.queued:
        await asyncio.sleep(0.02)
    records = [r for r in caplog.records if r.name.startswith("mediasrv")]
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    # The watcher may see the delete in one batch or two: a line per scan, no more.
    scans = coordinator.scans_run - ran
    assert len(info) == scans
    assert all(SUMMARY.fullmatch(m) or NO_CHANGE.fullmatch(m) for m in info), info
    served = [m for line in info if (m := SUMMARY.fullmatch(line))]
    assert (sum(int(m["removed"]) for m in served), served[-1]["files"]) == (85, "1")


def test_each_kind_of_skip_is_logged_at_its_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mediasrv.scan.walk")
    stats = WalkStats()
    stats.note("vanished", "Old/a.jpg", FileNotFoundError(2, "No such file or directory"))
    stats.note("outside_links", "Trips/elsewhere")
    stats.note("unreadable", "Private", PermissionError(13, "Permission denied"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", "vanished: Old/a.jpg (No such file or directory)"),
        ("INFO", "outside_links: Trips/elsewhere"),
        ("WARNING", "unreadable: Private (Permission denied)"),
    ]
    assert (stats.vanished, stats.outside_links, stats.unreadable, stats.skipped) == (1, 1, 1, 3)


@pytest.mark.parametrize(("line", "previous", "expected"), [
    ("WARNING unreadable: Private (Permission denied)", logging.DEBUG,
     (logging.WARNING, "unreadable: Private (Permission denied)")),
    ("ERROR the disk is full", logging.WARNING, (logging.ERROR, "the disk is full")),
    ("DEBUG vanished: Old", logging.WARNING, (logging.DEBUG, "vanished: Old")),
    # A traceback's lines carry no level: they keep the one of the line before.
    ('  File "walk.py", line 3', logging.ERROR, (logging.ERROR, '  File "walk.py", line 3')),
    ("Traceback (most recent call last):", logging.ERROR,
     (logging.ERROR, "Traceback (most recent call last):")),
    ("WARNING", logging.INFO, (logging.INFO, "WARNING")),
])
def test_the_scan_process_lines_keep_their_level(
    line: str, previous: int, expected: tuple[int, str]
) -> None:
    assert relay_level(line, previous) == expected
